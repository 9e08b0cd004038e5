"""One evaluation at a time: a cache lock that expires, so a dead worker cannot hold it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

EVALUATION_LOCK = "confops:evaluation-lock"
LOCK_EXPIRY_SECONDS = 120


@contextmanager
def evaluation_lock(wait_seconds: float = 10.0) -> Iterator[bool]:
    """Yields True when the lock was taken (and releases it), False after waiting in vain."""
    deadline = time.monotonic() + wait_seconds
    while not cache.add(EVALUATION_LOCK, "held", LOCK_EXPIRY_SECONDS):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(0.05)
    try:
        yield True
    finally:
        cache.delete(EVALUATION_LOCK)
