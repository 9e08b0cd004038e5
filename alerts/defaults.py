"""The default rules: created on first migrate, restorable with `manage.py restore_default_rules`.

Chosen so that a healthy pipeline never fires them: staleness follows each source's cadence
with a grace for runs that end a little later each day, volume drops compare with the same
weekday when the history shows a weekly pattern, duration compares with the median rather than
the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from alerts import operations
from alerts.choices import Severity
from alerts.models import AlertRule
from alerts.rules.check_failed import CheckFailed
from alerts.rules.confops_stalled import ConfopsStalled
from alerts.rules.consecutive_failures import ConsecutiveFailures
from alerts.rules.deployment_unhealthy import DeploymentUnhealthy
from alerts.rules.deployment_unreachable import DeploymentUnreachable
from alerts.rules.duration import Duration
from alerts.rules.instigator_stopped import InstigatorStopped
from alerts.rules.metadata_threshold import MetadataThreshold
from alerts.rules.missed_schedule import MissedSchedule
from alerts.rules.run_failed import RunFailed
from alerts.rules.run_never_finished import RunNeverFinished
from alerts.rules.run_stuck import RunStuck
from alerts.rules.stale import Stale
from alerts.rules.tick_failed import TickFailed
from alerts.rules.volume_bounds import VolumeBounds
from alerts.rules.volume_drop import VolumeDrop

STALE_RULE_NAME = "Stale (no success when expected)"


@dataclass(frozen=True)
class DefaultRule:
    name: str
    kind: str
    severity: str
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    escalate_after_minutes: int | None = None
    # A failure that returns within this long after a success is the same incident (flapping).
    resolve_hold_minutes: int = 0


DEFAULT_RULES = [
    DefaultRule(
        "Run failed",
        RunFailed.name,
        Severity.WARNING,
        description="A run of the source failed and Dagster will not retry it.",
        resolve_hold_minutes=30,
    ),
    DefaultRule(
        "Consecutive failures",
        ConsecutiveFailures.name,
        Severity.CRITICAL,
        {"failures": 2, "recover_after": 1},
        escalate_after_minutes=30,
    ),
    # No max_age_hours: judged by each source's cadence, 24 h when nothing tells it (the kind's
    # docstring; migration 0011 moved installs made with "Stale after 24 h" over).
    DefaultRule(
        STALE_RULE_NAME,
        Stale.name,
        Severity.CRITICAL,
        {"grace_minutes": 30},
        description="No success came when the source's cadence (its freshness policy, "
        "schedule, cron or past successes) expected one.",
        escalate_after_minutes=30,
    ),
    DefaultRule(
        "Volume drop",
        VolumeDrop.name,
        Severity.WARNING,
        {"metric": "auto", "percent": 30, "window_runs": 7},
    ),
    DefaultRule(
        "Count below minimum",
        VolumeBounds.name,
        Severity.WARNING,
        {"metric": "auto", "min": 1},
        description="The source delivered nothing.",
    ),
    DefaultRule(
        "Run too long",
        Duration.name,
        Severity.WARNING,
        {"factor": 3, "min_seconds": 300},
    ),
    DefaultRule("Asset check ERROR", CheckFailed.name, Severity.CRITICAL, {"severity": "ERROR"}),
    DefaultRule("Asset check WARN", CheckFailed.name, Severity.WARNING, {"severity": "WARN"}),
    DefaultRule(
        "Duplicates",
        MetadataThreshold.name,
        Severity.WARNING,
        {"metric": "duplicates", "op": ">", "value": 0},
    ),
    DefaultRule("Missed schedule", MissedSchedule.name, Severity.WARNING, {"grace_minutes": 30}),
    DefaultRule(
        "Pushed run never finished", RunNeverFinished.name, Severity.WARNING, {"max_hours": 6}
    ),
    DefaultRule("Schedule or sensor tick failed", TickFailed.name, Severity.WARNING),
    # Daemons judged by their heartbeats (3 minutes of silence), not Dagster's 30-minute flag.
    DefaultRule("Code location or daemon unhealthy", DeploymentUnhealthy.name, Severity.CRITICAL),
    DefaultRule(
        "Queued runs not starting",
        RunStuck.name,
        Severity.CRITICAL,
        {"statuses": ["QUEUED"], "minutes": 15},
        description="Runs have waited in Dagster's queue for 15 minutes: the run queue daemon "
        "is down, a concurrency limit holds them, or the run launcher cannot start them.",
    ),
    DefaultRule(
        "Runs stuck starting or canceling",
        RunStuck.name,
        Severity.WARNING,
        {"statuses": ["STARTING", "CANCELING"], "minutes": 10},
        description="A run worker never came up, or a cancel was never carried out.",
    ),
    DefaultRule(
        "Schedule or sensor stopped",
        InstigatorStopped.name,
        Severity.WARNING,
        description="A schedule or sensor that was running was switched off: what it "
        "launched will not run until it is started again.",
    ),
    DefaultRule(
        "Deployment unreachable",
        DeploymentUnreachable.name,
        Severity.CRITICAL,
        {"for_minutes": 2},
        escalate_after_minutes=30,
    ),
    # Judged, reminded and escalated by the watcher (alerts/engine/watcher.py, fed by
    # confops/runtime/watchdog.py), which runs even when beat is dead. No channels: until it is
    # given some, it goes to every enabled channel (alerts/engine/policy.py, ``channels_for``),
    # so someone is told out of the box.
    DefaultRule(
        "confops stalled",
        ConfopsStalled.name,
        Severity.CRITICAL,
        description="Beat, every worker or the poller of confops stopped: nothing else is "
        "being watched until it is back.",
        escalate_after_minutes=30,
    ),
]


def create_default_rules(restore: bool = False, actor_label: str = "", **_: object) -> list[str]:
    """Create missing default rules; with ``restore``, also reset existing ones to defaults.

    With ``actor_label`` (the command) each rule goes through the rules' door, audited as made
    by it; after ``migrate`` (no label) the shipped rules are saved plainly: the audit trail
    records what people change, not the defaults every new database starts with.
    """
    changed = []
    for default in DEFAULT_RULES:
        values = {
            "kind": default.kind,
            "severity": default.severity,
            "parameters": default.parameters,
            "description": default.description,
            "escalate_after_minutes": default.escalate_after_minutes,
            "resolve_hold_minutes": default.resolve_hold_minutes,
            "is_default": True,
        }
        rule = AlertRule.objects.filter(name=default.name).first()
        if rule is None:
            rule = AlertRule(name=default.name, **values)
        elif restore:
            for key, value in {**values, "enabled": True}.items():
                setattr(rule, key, value)
        else:
            continue
        if actor_label:
            operations.save_rule(rule, {}, None, timezone.now(), actor_label)
        else:
            rule.save()
        changed.append(default.name)
    return changed
