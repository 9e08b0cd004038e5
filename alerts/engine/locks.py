"""One evaluation of a shard at a time: cache locks that expire, so a dead worker cannot hold
one. Each shard of the timer pass (``deadlines.Shard``) has its own lock, so two workers judge
two shards at once but never one shard twice; a poll's evaluation takes its sources' shards.
What shards share (which incident a new alert joins) is serialised in the database until the
transaction that writes it commits (``hold_until_commit``)."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

from django.core.cache import cache
from django.db import connection

EVALUATION_LOCK = "confops:evaluation-lock:{name}"
LOCK_EXPIRY_SECONDS = 120


@contextmanager
def evaluation_lock(name: str, wait_seconds: float = 10.0) -> Iterator[bool]:
    """Yields True when lock ``name`` was taken (and releases it), False after waiting in vain."""
    key = EVALUATION_LOCK.format(name=name)
    deadline = time.monotonic() + wait_seconds
    while not cache.add(key, "held", LOCK_EXPIRY_SECONDS):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(0.05)
    try:
        yield True
    finally:
        cache.delete(key)


@contextmanager
def evaluation_locks(names: Iterable[str], wait_seconds: float = 10.0) -> Iterator[bool]:
    """Several locks, taken in sorted order (two callers never wait on each other crosswise);
    True when all were taken, False (none kept) when one was not."""
    with ExitStack() as stack:
        for name in sorted(set(names)):
            if not stack.enter_context(evaluation_lock(name, wait_seconds)):
                stack.close()
                yield False
                return
        yield True


def hold_until_commit(name: str) -> None:
    """Make concurrent transactions take turns at a step until this one commits or rolls back:
    PostgreSQL's transaction-level advisory lock (a cache lock would be released before the
    commit, and the next transaction would not yet see what this one wrote). SQLite needs none:
    its writers hold one lock on the whole database until they commit."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
