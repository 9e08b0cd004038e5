"""Watching the watcher: notice when beat, every worker or the poller of confops stalls.

The rule engine's pass is scheduled by beat, so it cannot report beat's death. The watcher runs
instead from places that outlive beat: a daemon thread in every Celery worker (started at
``worker_ready``, see ``confops/celery.py``) and the health endpoints of the web processes. A
cache lock lets one check run per ``WATCHER_CHECK_INTERVAL_SECONDS`` however many ask, and the
alert's unique constraint keeps a race from opening two alerts.

This module only gathers what it observes (heartbeats, when each deployment was last polled)
and the thresholds from settings; the judging is the ``confops_stalled`` kind's
(``alerts/rules/confops_stalled.py``: ``judge``, pure) and the alert is the engine's
(``alerts.engine.watcher.evaluate_watcher``: it opens, refreshes, resolves, reminds and
escalates the one alert about confops).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection

from alerts.engine import watcher
from alerts.engine.watcher import WatcherOutcome
from alerts.rules import confops_stalled
from alerts.rules.confops_stalled import PollerState, Snapshot, Stall
from confops.runtime import heartbeat
from monitoring.models import Deployment

logger = logging.getLogger(__name__)

CHECK_LOCK_KEY = "confops:watchdog:checked"
MISSING_SINCE_PREFIX = "confops:watchdog:missing-since:"


class Thresholds(confops_stalled.Thresholds):
    """The kind's thresholds as the settings set them (the health endpoints read the same)."""

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            heartbeat_stale_seconds=float(settings.HEARTBEAT_STALE_SECONDS),
            poll_intervals=settings.WATCHER_STALE_POLL_INTERVALS,
            poll_floor_seconds=float(settings.WATCHER_STALE_POLL_FLOOR_SECONDS),
        )


def stalls_now(now: datetime) -> list[Stall]:
    return watcher.stalls(load_snapshot(now), Thresholds.from_settings(), now)


# --- Loading what the watcher judges --------------------------------------------------------


def first_missed(component: str, now: datetime) -> datetime:
    """When the watcher first found no heartbeat of ``component`` (a fresh install, a flushed
    cache): it gets the full stale threshold from then instead of alerting at once."""
    key = MISSING_SINCE_PREFIX + component
    cache.add(key, now.timestamp(), heartbeat.HEARTBEAT_TTL_SECONDS)
    return from_epoch(float(cache.get(key) or now.timestamp()))


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def heartbeat_at(component: str, seen: list[float], now: datetime) -> datetime:
    if not seen:
        return first_missed(component, now)
    cache.delete(MISSING_SINCE_PREFIX + component)
    return from_epoch(max(seen))


def load_pollers() -> tuple[PollerState, ...]:
    return tuple(
        PollerState(
            name=d.name,
            last_attempt_at=d.last_poll_at or d.created_at,
            expected_gap_seconds=d.backoff_seconds()
            if d.consecutive_failures
            else float(d.poll_interval_seconds),
        )
        for d in Deployment.objects.filter(enabled=True)
    )


def load_snapshot(now: datetime) -> Snapshot:
    beat = heartbeat.read(heartbeat.BEAT_KEY)
    task = heartbeat.read(heartbeat.WORKER_TASK_KEY)
    workers = [*heartbeat.read_workers().values(), *([float(task["at"])] if task else [])]
    return Snapshot(
        beat_at=heartbeat_at("beat", [float(beat["at"])] if beat else [], now),
        worker_at=heartbeat_at("workers", workers, now),
        pollers=load_pollers(),
    )


# --- Handing it to the engine ---------------------------------------------------------------


def check(now: datetime) -> WatcherOutcome:
    """Gather what the watcher sees now and let the engine judge it and reconcile the alert."""
    return watcher.evaluate_watcher(load_snapshot(now), Thresholds.from_settings(), now)


def check_if_due(now: datetime) -> WatcherOutcome:
    """``check`` unless another process ran one within ``WATCHER_CHECK_INTERVAL_SECONDS``."""
    interval = settings.WATCHER_CHECK_INTERVAL_SECONDS
    # Expires a little early so that a timer of exactly the interval is not always refused.
    if not cache.add(CHECK_LOCK_KEY, now.timestamp(), max(interval - 1, 1)):
        return WatcherOutcome(skipped=True)
    return check(now)


def check_quietly(now: datetime) -> WatcherOutcome:
    """For callers that must never fail because of the watcher (threads, health probes)."""
    try:
        return check_if_due(now)
    except Exception:
        logger.exception("watcher check failed")
        return WatcherOutcome(skipped=True)


# --- The thread in each worker --------------------------------------------------------------


class WatcherThread(threading.Thread):
    """Refreshes this worker's heartbeat and runs the watcher every interval, independently of
    beat and the broker (a worker's main thread may be busy with a long task)."""

    def __init__(self, hostname: str, interval: float) -> None:
        super().__init__(name="confops-watcher", daemon=True)
        self.hostname, self.interval = hostname, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.tick()
            self.stopped.wait(self.interval)
        heartbeat.forget_worker(self.hostname)

    def tick(self) -> None:
        now = datetime.now(tz=UTC)
        try:
            close_old_connections()
            heartbeat.record_worker(self.hostname, now.timestamp())
            check_quietly(now)
        except Exception:
            logger.exception("watcher thread: tick failed")
        finally:
            connection.close()  # this thread's own connection: do not hold it between ticks


_threads: dict[str, WatcherThread] = {}


def start_thread(hostname: str) -> WatcherThread:
    interval = min(settings.WATCHER_CHECK_INTERVAL_SECONDS, settings.HEARTBEAT_STALE_SECONDS / 3)
    thread = WatcherThread(hostname, interval)
    _threads[hostname] = thread
    thread.start()
    return thread


def stop_threads() -> None:
    for thread in _threads.values():
        thread.stopped.set()
    for thread in _threads.values():
        thread.join(timeout=5)
    _threads.clear()
