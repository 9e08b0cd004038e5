"""Heartbeats of Celery beat and workers, kept in the shared cache.

A quiet scheduler and a dead one look alike from the database; a heartbeat that each refreshes
lets the health checks and the watcher (``confops/runtime/watchdog.py``) tell them apart.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from celery.signals import beat_init, before_task_publish
from django.conf import settings
from django.core.cache import cache

BEAT_KEY = "confops:heartbeat:beat"
WORKER_TASK_KEY = "confops:heartbeat:worker-task"
# Each worker's own heartbeat (its watcher thread), and the list of the workers seen.
WORKER_KEY_PREFIX = "confops:heartbeat:worker:"
WORKER_NAMES_KEY = "confops:heartbeat:worker-names"
# Long enough to survive any sane stale threshold; the age tells staleness, not the expiry.
HEARTBEAT_TTL_SECONDS = 7 * 24 * 3600
# A worker silent for this many stale thresholds is forgotten: it crashed or was scaled away, and
# keeping it would list it (and its metric series) for a week. The newest one is kept even then:
# with every worker dead, its age is what the watcher and the metric report.
FORGET_WORKER_AFTER_STALE_INTERVALS = 10

_process_role: dict[str, str] = {}


def record_beat(now: float) -> None:
    cache.set(BEAT_KEY, {"at": now, "host": socket.gethostname()}, HEARTBEAT_TTL_SECONDS)


def record_worker_task(hostname: str, now: float) -> None:
    cache.set(WORKER_TASK_KEY, {"at": now, "host": hostname}, HEARTBEAT_TTL_SECONDS)


def read(key: str) -> dict[str, Any] | None:
    value = cache.get(key)
    return value if isinstance(value, dict) else None


def age_seconds(now: float, at: float) -> float:
    """Seconds since ``at``, never below 0. ``at`` is written by another process, often on
    another host, whose clock may run a little ahead of ours: a heartbeat "from the future" is
    fresh, not of a negative age (``/health/detailed`` once reported one)."""
    return max(0.0, now - at)


def worker_key(hostname: str) -> str:
    return f"{WORKER_KEY_PREFIX}{hostname}"


def record_worker(hostname: str, now: float) -> None:
    """A worker's own sign of life, written by its watcher thread: unlike the heartbeat task it
    needs neither beat nor the broker, so it tells a dead worker from a dead beat."""
    cache.set(worker_key(hostname), {"at": now, "host": hostname}, HEARTBEAT_TTL_SECONDS)
    names = cache.get(WORKER_NAMES_KEY) or []
    if hostname not in names:
        # Read-modify-write: two workers starting at once may drop one name; each adds itself
        # again at its next beat, so the list converges.
        cache.set(WORKER_NAMES_KEY, sorted({*names, hostname}), HEARTBEAT_TTL_SECONDS)


def forget_worker_after_seconds() -> int:
    return FORGET_WORKER_AFTER_STALE_INTERVALS * int(settings.HEARTBEAT_STALE_SECONDS)


def read_workers(now: float | None = None) -> dict[str, float]:
    """Each known worker's last own heartbeat (epoch seconds), by host name. Workers silent for
    ``forget_worker_after_seconds`` are dropped from the list, except the newest of all."""
    now = time.time() if now is None else now
    names = cache.get(WORKER_NAMES_KEY) or []
    found = cache.get_many([worker_key(name) for name in names])
    beats = {
        str(value["host"]): float(value["at"])
        for value in found.values()
        if isinstance(value, dict) and "at" in value
    }
    cutoff = now - forget_worker_after_seconds()
    newest = max(beats.values(), default=now)
    alive = {host: at for host, at in beats.items() if at >= cutoff or at == newest}
    gone = set(names) - set(alive)
    if gone:
        # Read-modify-write like record_worker: a live worker dropped by a race adds itself again.
        cache.set(WORKER_NAMES_KEY, sorted(alive), HEARTBEAT_TTL_SECONDS)
        cache.delete_many([worker_key(name) for name in gone])
    return alive


def forget_worker(hostname: str) -> None:
    """A worker shutting down cleanly leaves the list (a crashed one just goes stale)."""
    cache.delete(worker_key(hostname))
    names = cache.get(WORKER_NAMES_KEY) or []
    if hostname in names:
        cache.set(WORKER_NAMES_KEY, [n for n in names if n != hostname], HEARTBEAT_TTL_SECONDS)


@beat_init.connect
def _mark_beat_process(**_: object) -> None:
    _process_role["role"] = "beat"


@before_task_publish.connect
def _beat_published(**_: object) -> None:
    """Beat publishes at least the heartbeat task every interval: each publish is a sign of life."""
    if _process_role.get("role") == "beat":
        record_beat(time.time())
