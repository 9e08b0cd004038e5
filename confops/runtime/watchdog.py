"""Watching the watcher: notice when beat, every worker or the poller of confops stalls.

The rule engine's pass is scheduled by beat, so it cannot report beat's death. The watcher runs
instead from places that outlive beat: a daemon thread in every Celery worker (started at
``worker_ready``, see ``confops/celery.py``) and the health endpoints of the web processes. A
cache lock lets one check run per ``WATCHER_CHECK_INTERVAL_SECONDS`` however many ask, and the
alert's unique constraint keeps a race from opening two alerts.

``judge`` is pure (a snapshot and ``now`` in, stalls out); ``check`` loads the snapshot and
reconciles the one open alert of each enabled ``confops_stalled`` rule through the engine's own
``reconcile``, so it is notified, silenced and resolved like any other alert. ``check`` also
sends its reminders and escalation (``policy.remind_and_escalate``), which for other alerts
beat's pass sends: with beat dead, nothing else would.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, close_old_connections, connection

from confops.common.formatting import span
from confops.runtime import heartbeat

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from alerts.models import Alert
    from alerts.rules.base import Finding

logger = logging.getLogger(__name__)

CHECK_LOCK_KEY = "confops:watchdog:checked"
MISSING_SINCE_PREFIX = "confops:watchdog:missing-since:"


@dataclass(frozen=True)
class PollerState:
    """One enabled deployment as the watcher sees it."""

    name: str
    last_attempt_at: datetime  # the last poll, ok or not (its creation when never polled)
    expected_gap_seconds: float  # its interval, or its backoff while Dagster fails


@dataclass(frozen=True)
class Snapshot:
    beat_at: datetime  # the last beat heartbeat, or when the watcher first missed it
    worker_at: datetime  # the newest heartbeat of any worker, or when first missed
    pollers: tuple[PollerState, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    heartbeat_stale_seconds: float
    poll_intervals: int
    poll_floor_seconds: float

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            heartbeat_stale_seconds=float(settings.HEARTBEAT_STALE_SECONDS),
            poll_intervals=settings.WATCHER_STALE_POLL_INTERVALS,
            poll_floor_seconds=float(settings.WATCHER_STALE_POLL_FLOOR_SECONDS),
        )

    def poll_limit(self, poller: PollerState) -> float:
        return max(self.poll_intervals * poller.expected_gap_seconds, self.poll_floor_seconds)


@dataclass(frozen=True)
class Stall:
    component: str  # "beat", "workers" or "poller:<deployment>"
    summary: str
    since: datetime  # when it became a stall (the threshold passed)


def judge(snapshot: Snapshot, thresholds: Thresholds, now: datetime) -> list[Stall]:
    """What is stalled at ``now``. A poller whose polls run but fail is not stalled: that is
    Dagster being unreachable (the ``deployment_unreachable`` rule); a stall is no poll at all."""
    stale = timedelta(seconds=thresholds.heartbeat_stale_seconds)
    stalls = []
    if now - snapshot.beat_at > stale:
        age = span(now - snapshot.beat_at)
        stalls.append(Stall("beat", f"beat silent for {age}", snapshot.beat_at + stale))
    if now - snapshot.worker_at > stale:
        age = span(now - snapshot.worker_at)
        stalls.append(Stall("workers", f"no worker alive for {age}", snapshot.worker_at + stale))
    for poller in snapshot.pollers:
        limit = timedelta(seconds=thresholds.poll_limit(poller))
        if now - poller.last_attempt_at > limit:
            age = span(now - poller.last_attempt_at)
            stalls.append(
                Stall(
                    f"poller:{poller.name}",
                    f"{poller.name} not polled for {age}",
                    poller.last_attempt_at + limit,
                )
            )
    return stalls


def stalls_now(now: datetime) -> list[Stall]:
    return judge(load_snapshot(now), Thresholds.from_settings(), now)


def finding_for(stalls: list[Stall]) -> Finding | None:
    """One finding for the one alert about confops, listing every stalled part."""
    from alerts.rules.base import Finding

    if not stalls:
        return None
    return Finding(
        summary="confops stalled: " + "; ".join(s.summary for s in stalls),
        since=min(s.since for s in stalls),
        details={
            "stalls": [
                {"component": s.component, "summary": s.summary, "since": s.since.isoformat()}
                for s in stalls
            ]
        },
    )


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
    from monitoring.models import Deployment

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


# --- Reconciling the alert ------------------------------------------------------------------


@dataclass
class CheckOutcome:
    stalls: list[Stall] = field(default_factory=list)
    fired: int = 0
    resolved: int = 0
    reminded: int = 0  # reminder and escalation messages written
    skipped: bool = False


def check(now: datetime) -> CheckOutcome:
    """Judge confops now and open, refresh or resolve the alert of each enabled rule."""
    from alerts.engine import evaluation, policy
    from alerts.engine.evaluation import SubjectKey
    from alerts.models import AlertRule
    from alerts.rules.confops_stalled import KIND

    stalls = stalls_now(now)
    rules = {r.pk: r for r in AlertRule.objects.filter(kind=KIND, enabled=True)}
    finding = finding_for(stalls)
    if finding is None and not open_alerts(list(rules)).exists():
        return CheckOutcome()  # the usual case: no write transaction at all
    keys: set[SubjectKey] = {(pk, None, None) for pk in rules}
    findings = dict.fromkeys(keys, finding) if finding else {}
    try:
        result = evaluation.reconcile(rules, keys, findings, {}, {}, now)
    except IntegrityError:
        # Another watcher opened the alert between our read and our insert: it is open.
        logger.info("watcher: another check opened the alert first")
        return CheckOutcome(stalls=stalls)
    if result.fired or result.resolved:
        logger.warning("watcher: %s", finding.summary if finding else "confops recovered")
    reminded = policy.remind_and_escalate(now, open_alerts(list(rules)))
    return CheckOutcome(
        stalls, fired=len(result.fired), resolved=len(result.resolved), reminded=reminded
    )


def open_alerts(rule_ids: list[int]) -> QuerySet[Alert]:
    from alerts.choices import OPEN_STATES
    from alerts.models import Alert

    return Alert.objects.filter(
        rule_id__in=rule_ids, state__in=OPEN_STATES, source__isnull=True, deployment__isnull=True
    )


def check_if_due(now: datetime) -> CheckOutcome:
    """``check`` unless another process ran one within ``WATCHER_CHECK_INTERVAL_SECONDS``."""
    interval = settings.WATCHER_CHECK_INTERVAL_SECONDS
    # Expires a little early so that a timer of exactly the interval is not always refused.
    if not cache.add(CHECK_LOCK_KEY, now.timestamp(), max(interval - 1, 1)):
        return CheckOutcome(skipped=True)
    return check(now)


def check_quietly(now: datetime) -> CheckOutcome:
    """For callers that must never fail because of the watcher (threads, health probes)."""
    try:
        return check_if_due(now)
    except Exception:
        logger.exception("watcher check failed")
        return CheckOutcome(skipped=True)


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
