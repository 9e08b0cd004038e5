"""A schedule or sensor that was running and has been switched off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from alerts.choices import RuleTarget
from alerts.rules._common import iso, matches
from alerts.rules.base import (
    DeploymentHistory,
    ExplainedSource,
    Finding,
    Params,
    RuleKind,
    register,
)
from alerts.rules.missed_schedule import MissedSchedule
from alerts.rules.stale import Stale


class InstigatorStoppedParams(Params):
    instigator: str | None = Field(
        None,
        description="Only schedules and sensors whose name matches this glob; empty for all.",
    )


@register
class InstigatorStopped(RuleKind):
    """Fires while a matching schedule or sensor that confops saw RUNNING is STOPPED (someone
    turned it off in Dagster's UI, or a deploy reset it to its default status); clears when it
    runs again or is gone from the code. One that was never running (defined STOPPED) never
    fires. Disabled deployments never fire."""

    name = "instigator_stopped"
    label = "Schedule or sensor stopped"
    target = RuleTarget.DEPLOYMENT
    params = InstigatorStoppedParams
    # A switched-off schedule or sensor starts nothing: its targets go stale, miss schedules.
    explains = frozenset({Stale.name, MissedSchedule.name})

    def explains_source(self, details: dict[str, Any], source: ExplainedSource) -> bool:
        """Only its own targets (the sources it names, or whose job it starts): a stopped
        sensor says nothing about why another job's asset is stale."""
        jobs = set(source.job_names)
        for stopped in details.get("stopped") or ():
            schedule = stopped.get("kind") == "schedule"
            named = source.schedule_names if schedule else source.sensor_names
            if stopped.get("name") in named or jobs & set(stopped.get("jobs") or ()):
                return True
        return False

    def evaluate_deployment(
        self, history: DeploymentHistory, params: InstigatorStoppedParams, now: datetime
    ) -> Finding | None:
        stopped = sorted(
            (i for i in history.stopped_instigators if matches(i.name, params.instigator)),
            key=lambda i: (i.stopped_at, i.name),
        )
        if not history.enabled or not stopped:
            return None
        names = ", ".join(f"{i.kind} {i.name}" for i in stopped)
        return Finding(
            summary=f"{history.name}: {names} stopped (was running)",
            since=stopped[0].stopped_at,
            details={
                "stopped": [
                    {
                        "name": i.name,
                        "kind": i.kind,
                        "stopped_at": iso(i.stopped_at),
                        "jobs": list(i.target_jobs),
                    }
                    for i in stopped
                ]
            },
        )
