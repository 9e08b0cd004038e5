"""Heartbeats of Celery beat and workers, kept in the shared cache.

A quiet scheduler and a dead one look alike from the database; a heartbeat that each refreshes
lets the health checks (and later the watcher alerts) tell them apart.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from celery.signals import beat_init, before_task_publish
from django.core.cache import cache

BEAT_KEY = "confops:heartbeat:beat"
WORKER_TASK_KEY = "confops:heartbeat:worker-task"
# Long enough to survive any sane stale threshold; the age tells staleness, not the expiry.
HEARTBEAT_TTL_SECONDS = 7 * 24 * 3600

_process_role: dict[str, str] = {}


def record_beat(now: float) -> None:
    cache.set(BEAT_KEY, {"at": now, "host": socket.gethostname()}, HEARTBEAT_TTL_SECONDS)


def record_worker_task(hostname: str, now: float) -> None:
    cache.set(WORKER_TASK_KEY, {"at": now, "host": hostname}, HEARTBEAT_TTL_SECONDS)


def read(key: str) -> dict[str, Any] | None:
    value = cache.get(key)
    return value if isinstance(value, dict) else None


@beat_init.connect
def _mark_beat_process(**_: object) -> None:
    _process_role["role"] = "beat"


@before_task_publish.connect
def _beat_published(**_: object) -> None:
    """Beat publishes at least the heartbeat task every interval: each publish is a sign of life."""
    if _process_role.get("role") == "beat":
        record_beat(time.time())
