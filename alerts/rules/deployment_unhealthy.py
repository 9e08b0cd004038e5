"""A deployment that answers but cannot do its work: a code location or a daemon is down."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import StrictBool

from alerts.choices import RuleTarget
from alerts.rules._common import first_line
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, register


class DeploymentUnhealthyParams(Params):
    daemons: StrictBool = True
    code_locations: StrictBool = True


@register
class DeploymentUnhealthy(RuleKind):
    """Fires while a code location fails to load or a required daemon is unhealthy; clears
    when the latest poll shows all of them well. Disabled deployments never fire."""

    name = "deployment_unhealthy"
    label = "Deployment unhealthy"
    target = RuleTarget.DEPLOYMENT
    params = DeploymentUnhealthyParams

    def evaluate_deployment(
        self, history: DeploymentHistory, params: DeploymentUnhealthyParams, now: datetime
    ) -> Finding | None:
        locations = dict(sorted(history.code_location_errors.items()))
        locations = locations if params.code_locations else {}
        daemons = unhealthy_daemons(history) if params.daemons else []
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


def unhealthy_daemons(history: DeploymentHistory) -> list[str]:
    """Required daemons that are not healthy (an optional one being down is Dagster's call)."""
    return sorted(
        name
        for name, status in history.daemon_health.items()
        if status.get("required") and not status.get("healthy")
    )


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
