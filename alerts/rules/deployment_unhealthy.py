"""A deployment that answers but cannot do its work: a code location or a daemon is down.

A daemon is judged by confops from its last heartbeat, not only by Dagster's ``healthy`` flag:
Dagster tolerates 1,800 s of silence before calling a daemon unhealthy, so a dead scheduler
would go unnoticed for half an hour; its heartbeats come every 30 s or so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import StrictBool

from alerts.choices import RuleTarget
from alerts.rules._common import MAX_MINUTES, first_line, limits
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, register
from alerts.rules.consecutive_failures import ConsecutiveFailures
from alerts.rules.missed_schedule import MissedSchedule
from alerts.rules.run_failed import RunFailed
from alerts.rules.stale import Stale

# The daemons whose silence stops a deployment's work: schedules, sensors, the run queue (only
# reported as required when the instance uses the queued run coordinator) and backfills.
HEARTBEAT_DAEMONS = ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "BACKFILL")


class DeploymentUnhealthyParams(Params):
    daemons: StrictBool = True
    code_locations: StrictBool = True
    # A required daemon of ``heartbeat_daemons`` whose last heartbeat was this old when the
    # deployment was last polled is down (Dagster's own flag waits 30 minutes).
    heartbeat_minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] = 3
    heartbeat_daemons: tuple[str, ...] = HEARTBEAT_DAEMONS


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
    """Required daemons that are unhealthy or silent (an optional one, or one the instance
    does not run, is not required: Dagster says which)."""
    return sorted(
        name
        for name, status in history.daemon_health.items()
        if status.get("required")
        and (not status.get("healthy") or silent(history, name, status, params))
    )


def silent(
    history: DeploymentHistory,
    name: str,
    status: dict[str, object],
    params: DeploymentUnhealthyParams,
) -> bool:
    """The heartbeat was ``heartbeat_minutes`` old when the deployment last answered. Judged
    at the poll, not at ``now``: a poll that failed leaves an old snapshot, whose age says
    nothing about the daemon (``deployment_unreachable`` tells that story)."""
    beat, polled = status.get("last_heartbeat"), history.last_success_at
    if name not in params.heartbeat_daemons or history.failing_since or polled is None:
        return False
    if not isinstance(beat, int | float) or isinstance(beat, bool):
        return False
    age = polled - datetime.fromtimestamp(beat, UTC)
    return age >= timedelta(minutes=params.heartbeat_minutes)


def began(history: DeploymentHistory, daemons: list[str], now: datetime) -> datetime:
    """A silent daemon's last heartbeat dates the outage; otherwise the snapshot says what is
    wrong but not since when, so the condition is known from now."""
    beats = [history.daemon_health[name].get("last_heartbeat") for name in daemons]
    moments = [datetime.fromtimestamp(beat, UTC) for beat in beats if isinstance(beat, int | float)]
    return min([*moments, now])


def summary(deployment: str, locations: dict[str, str], daemons: list[str]) -> str:
    parts = [
        f"code location {name} failed to load ({first_line(error, 120)})"
        for name, error in locations.items()
    ]
    if daemons:
        parts.append(f"daemon{'s' if len(daemons) > 1 else ''} {', '.join(daemons)} unhealthy")
    return f"{deployment} unhealthy: " + "; ".join(parts)
