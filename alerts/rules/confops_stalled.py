"""confops itself stopped working: beat, every worker or the poller stalled.

This kind is judged by the watcher, not by the rule engine's pass: that pass is scheduled by
beat, and a dead beat cannot report its own death. The watcher (``confops/runtime/watchdog.py``)
runs from every worker's watcher thread and from the health probes; it gathers what it observes
(heartbeats, when each deployment was last polled) into a ``Snapshot`` and hands it to the
engine (``alerts.engine.watcher.evaluate_watcher``), which judges it here (``judge``, pure) and
reconciles the one alert of this rule (subject: confops) with the same engine code, and sends
its reminders and escalation too. The rule row carries what operators tune at run time: on/off,
severity, channels, cooldown, escalation, runbook. Without channels of its own it goes to every
enabled channel, and without escalation channels it escalates to those (``internal``, read by
``alerts.engine.policy.channels_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.choices import RuleTarget
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, SourceHistory, register
from confops.common.formatting import span

KIND = "confops_stalled"


@dataclass(frozen=True)
class PollerState:
    """One enabled deployment as the watcher sees it."""

    name: str
    last_attempt_at: datetime  # the last poll, ok or not (its creation when never polled)
    expected_gap_seconds: float  # its interval, or its backoff while Dagster fails


@dataclass(frozen=True)
class Snapshot:
    """What the watcher observed of confops at one moment."""

    beat_at: datetime  # the last beat heartbeat, or when the watcher first missed it
    worker_at: datetime  # the newest heartbeat of any worker, or when first missed
    pollers: tuple[PollerState, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    """The settings the health endpoints share (``HEARTBEAT_STALE_SECONDS``,
    ``WATCHER_STALE_POLL_INTERVALS``, ``WATCHER_STALE_POLL_FLOOR_SECONDS``), so the page and the
    alert never disagree; the watcher reads them, this kind only uses them."""

    heartbeat_stale_seconds: float
    poll_intervals: int
    poll_floor_seconds: float

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


def finding_for(stalls: list[Stall]) -> Finding | None:
    """One finding for the one alert about confops, listing every stalled part."""
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


class ConfopsStalledParams(Params):
    """None: the thresholds are settings the health endpoints share (see ``Thresholds``)."""


@register
class ConfopsStalled(RuleKind):
    """Judges the watcher's ``Snapshot`` (``judge``, ``finding_for``) rather than a source's or a
    deployment's history: the engine's ``evaluate_watcher`` asks it, never the engine's pass."""

    name = KIND
    label = "Stalled confops: beat, workers or poller"
    target = RuleTarget.CONFOPS
    internal = True
    params = ConfopsStalledParams

    def evaluate_watcher(
        self, snapshot: Snapshot, thresholds: Thresholds, now: datetime
    ) -> tuple[list[Stall], Finding | None]:
        """The stalled parts at ``now`` and the one finding that lists them (None: all well)."""
        stalls = judge(snapshot, thresholds, now)
        return stalls, finding_for(stalls)

    def evaluate_source(self, history: SourceHistory, params: Params, now: datetime) -> None:
        return None  # about confops, never about a source

    def evaluate_deployment(
        self, history: DeploymentHistory, params: Params, now: datetime
    ) -> Finding | None:
        return None  # a deployment Dagster being down is ``deployment_unreachable``'s
