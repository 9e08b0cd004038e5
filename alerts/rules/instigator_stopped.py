"""A schedule or sensor that was running and has been switched off."""

from __future__ import annotations

from datetime import datetime

from alerts.choices import RuleTarget
from alerts.rules._common import iso, matches
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, register


class InstigatorStoppedParams(Params):
    instigator: str | None = None  # an fnmatch glob over schedule and sensor names


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
                    {"name": i.name, "kind": i.kind, "stopped_at": iso(i.stopped_at)}
                    for i in stopped
                ]
            },
        )
