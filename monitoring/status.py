"""The health of sources as the status page shows it: pure functions of stored state and ``now``.

A source's state comes from its open alerts, so the page and the notifications never disagree:
a firing or acknowledged critical alert makes it critical, a warning one a warning; when all
of them have cleared and only wait out their resolve hold it is recovering (with when it will
close: "WARNING" would say the failure still holds, "healthy" that nothing is open). Without
either it is healthy if it succeeded recently. It is grey when nothing can be said: paused,
never run, not succeeded for a long time while no alert judges it, or its deployment cannot be
polled (the data shown is then as old as the last good poll).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from confops.common.formatting import clock, since
from monitoring.choices import HealthState

# The default staleness rule fires after 24 h. A success older than a week with no alert open
# means no rule judges this source (switched off or overridden), so the page cannot vouch for it.
RECENT_SUCCESS = timedelta(days=7)

SEVERITY_STATE = {"critical": HealthState.CRITICAL, "warning": HealthState.WARNING}

# The colour, the icon (an id in the page's SVG sprite) and the word for each state: colour is
# never the only signal.
PRESENTATION: dict[str, tuple[str, str, str]] = {
    HealthState.HEALTHY: ("green", "i-healthy", "Healthy"),
    HealthState.WARNING: ("yellow", "i-warning", "Warning"),
    HealthState.CRITICAL: ("red", "i-critical", "Critical"),
    HealthState.UNKNOWN: ("grey", "i-unknown", "Unknown"),
    HealthState.PAUSED: ("grey", "i-paused", "Paused"),
    HealthState.RECOVERING: ("blue", "i-healthy", "Recovering"),
}


@dataclass(frozen=True)
class Health:
    """A state and why, in words an operator reads in a grid cell."""

    state: HealthState
    reason: str

    @property
    def colour(self) -> str:
        return PRESENTATION[self.state][0]

    @property
    def icon(self) -> str:
        return PRESENTATION[self.state][1]

    @property
    def label(self) -> str:
        return PRESENTATION[self.state][2]


@dataclass(frozen=True)
class OpenAlerts:
    """A source's firing and acknowledged alerts, summed by severity."""

    critical: int = 0
    warning: int = 0
    info: int = 0
    acknowledged: int = 0
    example: str = ""  # a rule name to show, taken from the worst severity
    # Set when every one of them has cleared and waits out its resolve hold: when the last closes.
    closes_at: datetime | None = None

    @property
    def worst(self) -> str | None:
        for severity in ("critical", "warning", "info"):
            if getattr(self, severity):
                return severity
        return None

    @property
    def total(self) -> int:
        return self.critical + self.warning + self.info


def deployment_problem(
    enabled: bool,
    last_success_at: datetime | None,
    consecutive_failures: int,
    failing_since: datetime | None,
    now: datetime,
) -> str:
    """Why a deployment's sources cannot be vouched for, or "" when its polls succeed."""
    if not enabled:
        return "deployment disabled: not polled"
    if consecutive_failures:
        started = f" for {since(failing_since, now)}" if failing_since else ""
        return f"deployment unreachable{started}"
    if last_success_at is None:
        return "deployment not polled yet"
    return ""


def source_health(
    *,
    paused: bool,
    deployment_problem: str,
    alerts: OpenAlerts,
    last_run_at: datetime | None,
    last_success_at: datetime | None,
    now: datetime,
    next_run_at: datetime | None = None,
) -> Health:
    """The state of one source; the order of the checks is the order of precedence.

    ``next_run_at``, when a schedule says, tells a source that never ran when it should: grey
    with no hint reads as broken to someone who has just started watching a deployment."""
    if paused:
        return Health(HealthState.PAUSED, "paused: not judged")
    if deployment_problem:
        return Health(HealthState.UNKNOWN, deployment_problem)
    if alerts.closes_at is not None:
        return Health(HealthState.RECOVERING, f"recovering, closes at {clock(alerts.closes_at)}")
    worst = alerts.worst
    if worst in SEVERITY_STATE:
        count = getattr(alerts, worst)
        more = f" (+{count - 1} more)" if count > 1 else ""
        return Health(SEVERITY_STATE[worst], f"{alerts.example}{more}")
    if last_run_at is None and last_success_at is None:
        due = f"; next scheduled run in {since(now, next_run_at)}" if next_run_at else ""
        return Health(HealthState.UNKNOWN, f"never run{due}")
    if last_success_at is None:
        return Health(HealthState.UNKNOWN, "no success yet")
    if now - last_success_at > RECENT_SUCCESS:
        return Health(HealthState.UNKNOWN, "no success for over a week, and no rule says why")
    return Health(HealthState.HEALTHY, "")


def source_state(
    *, paused: bool, deployment_problem: str, alerts: OpenAlerts, recent_success: bool
) -> HealthState:
    """``source_health``'s state alone, from whether the last success is recent (within
    ``RECENT_SUCCESS``): the state needs no other time, and a fleet's status page judges ten
    thousand sources per request without reading their times or wording their reasons."""
    if paused:
        return HealthState.PAUSED
    if deployment_problem:
        return HealthState.UNKNOWN
    if alerts.closes_at is not None:
        return HealthState.RECOVERING
    worst = alerts.worst
    if worst in SEVERITY_STATE:
        return SEVERITY_STATE[worst]
    return HealthState.HEALTHY if recent_success else HealthState.UNKNOWN
