"""The dead man's switch: confops pings an outside URL after good evaluation cycles.

An outside service (Healthchecks, Cronitor, Dead Man's Snitch...) expects the ping every few
minutes and alerts when it stops: the one failure confops cannot report itself is its own death.
The ping leaves evaluation at once as a task of its own, so a slow or dead endpoint never holds
up judging; it is sent at most once per ``DEAD_MANS_SWITCH_MIN_INTERVAL_SECONDS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import requests
from django.conf import settings
from django.core.cache import cache

from confops.common.secrets import redact_url

logger = logging.getLogger(__name__)

LAST_PING_KEY = "confops:deadman:last-ping"
PING_TIMEOUT_SECONDS = 5.0


def ping_due(last_ping_at: float | None, now: datetime, min_interval_seconds: float) -> bool:
    return last_ping_at is None or now.timestamp() - last_ping_at >= min_interval_seconds


def after_good_cycle(now: datetime, queue_ping: Callable[[float], object]) -> bool:
    """Queue a ping if one is due (``queue_ping(expires_seconds)``); True when queued. Called
    inside the evaluation lock, so two workers never both decide a ping is due. Never raises:
    evaluation matters more."""
    if not settings.DEAD_MANS_SWITCH_URL:
        return False
    interval = settings.DEAD_MANS_SWITCH_MIN_INTERVAL_SECONDS
    try:
        if not ping_due(cache.get(LAST_PING_KEY), now, interval):
            return False
        cache.set(LAST_PING_KEY, now.timestamp(), interval * 10)
        queue_ping(interval)
    except Exception:
        logger.exception("dead man's switch: could not queue the ping")
        return False
    return True


def ping(url: str) -> bool:
    """GET the URL; a failure is logged, not raised, and the next good cycle pings again."""
    try:
        response = requests.get(url, timeout=PING_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        # Not the exception's text: it holds the URL, whose path is the switch's secret.
        status = exc.response.status_code if exc.response is not None else None
        logger.warning(
            "dead man's switch ping failed: %s (status %s) to %s",
            type(exc).__name__,
            status,
            redact_url(url),
        )
        cache.delete(LAST_PING_KEY)
        return False
    return True
