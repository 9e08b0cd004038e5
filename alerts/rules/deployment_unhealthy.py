"""A deployment that answers but cannot do its work: a code location or a daemon is down.

A daemon is judged by confops from its last heartbeat, not only by Dagster's ``healthy`` flag
(``monitoring.daemons``, the same judgement the status grid shows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool

from alerts.choices import RuleTarget
from alerts.rules._common import MAX_MINUTES, first_line, limits
from alerts.rules.base import (
    DeploymentHistory,
    ExplainedSource,
    Finding,
    Params,
    RuleKind,
    register,
)
from alerts.rules.consecutive_failures import ConsecutiveFailures
from alerts.rules.missed_schedule import MissedSchedule
from alerts.rules.run_failed import RunFailed
from alerts.rules.stale import Stale
from confops.common.formatting import span
from monitoring.daemons import HEARTBEAT_DAEMONS, HEARTBEAT_MINUTES, heartbeat_at
from monitoring.daemons import down_daemons as daemons_down


class DeploymentUnhealthyParams(Params):
    daemons: StrictBool = Field(
        True, description="Fire when a required Dagster daemon is down or its heartbeat is old."
    )
    code_locations: StrictBool = Field(
        True, description="Fire when a code location of the deployment fails to load."
    )
    # A required daemon of ``heartbeat_daemons`` whose last heartbeat was this old when the
    # deployment was last polled is down (Dagster's own flag waits 30 minutes).
    heartbeat_minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] = Field(
        HEARTBEAT_MINUTES,
        description="How old a daemon's last heartbeat may be before it counts as down.",
    )
    heartbeat_daemons: tuple[str, ...] = Field(
        HEARTBEAT_DAEMONS,
        description="Which daemons must be running (by Dagster's daemon name).",
    )


@register
class DeploymentUnhealthy(RuleKind):
    """Fires while a code location fails to load or a required daemon is down (Dagster says it
    is unhealthy, or its last heartbeat is ``heartbeat_minutes`` old); clears when the latest
    poll shows all of them well. Disabled deployments never fire."""

    name = "deployment_unhealthy"
    label = "Deployment unhealthy"
    target = RuleTarget.DEPLOYMENT
    params = DeploymentUnhealthyParams
    # A broken code location cannot launch runs (they fail) nor tick its schedules; a dead
    # scheduler, sensor or run queue starts nothing: its sources go stale and miss schedules.
    explains = frozenset(
        {Stale.name, MissedSchedule.name, RunFailed.name, ConsecutiveFailures.name}
    )

    def explains_source(self, details: dict[str, Any], source: ExplainedSource) -> bool:
        """A down daemon explains every source of the deployment; broken code locations only
        their own sources (another location's stale asset is its own story)."""
        locations = details.get("code_location_errors") or {}
        if details.get("unhealthy_daemons") or not locations or not source.code_location:
            return True
        return source.code_location in locations

    def threshold(self, params: DeploymentUnhealthyParams) -> str:
        """A daemon's silence."""
        return f"heartbeat older than {span(params.heartbeat_minutes * 60)}"

    def evaluate_deployment(
        self, history: DeploymentHistory, params: DeploymentUnhealthyParams, now: datetime
    ) -> Finding | None:
        locations = dict(sorted(history.code_location_errors.items()))
        locations = locations if params.code_locations else {}
        daemons = down_daemons(history, params) if params.daemons else []
        if not history.enabled or not (locations or daemons):
            return None
        return Finding(
            summary=summary(history.name, locations, daemons),
            since=began(history, daemons, now),
            details={
                "code_location_errors": locations,
                "unhealthy_daemons": {name: history.daemon_health[name] for name in daemons},
            },
        )


def down_daemons(history: DeploymentHistory, params: DeploymentUnhealthyParams) -> list[str]:
    """Required daemons that are unhealthy or silent, judged at the last successful poll."""
    return daemons_down(
        history.daemon_health,
        history.last_success_at,
        polls_failing=history.failing_since is not None,
        minutes=params.heartbeat_minutes,
        judged=params.heartbeat_daemons,
    )


def began(history: DeploymentHistory, daemons: list[str], now: datetime) -> datetime:
    """A silent daemon's last heartbeat dates the outage; otherwise the snapshot says what is
    wrong but not since when, so the condition is known from now."""
    beats = [heartbeat_at(history.daemon_health[name]) for name in daemons]
    return min([*(beat for beat in beats if beat is not None), now])


def summary(deployment: str, locations: dict[str, str], daemons: list[str]) -> str:
    parts = [
        f"code location {name} failed to load ({first_line(error, 120)})"
        for name, error in locations.items()
    ]
    if daemons:
        parts.append(f"daemon{'s' if len(daemons) > 1 else ''} {', '.join(daemons)} unhealthy")
    return f"{deployment} unhealthy: " + "; ".join(parts)
