"""Whether a Dagster daemon is down: the one judgement the status grid, the health answer and the
``deployment_unhealthy`` rule share.

Dagster's own ``healthy`` flag tolerates 1,800 s of silence before calling a daemon unhealthy,
so a dead scheduler would look well for half an hour; its heartbeats come every 30 s or so.
confops therefore also judges the heartbeat times it stores: a required daemon whose last
heartbeat was ``minutes`` old when the deployment last answered is down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# The daemons whose silence stops a deployment's work: schedules, sensors, the run queue (only
# reported as required when the instance uses the queued run coordinator) and backfills.
HEARTBEAT_DAEMONS = ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "BACKFILL")
# Heartbeats come about every 30 s: three minutes of silence is a stopped daemon, not a slow one.
HEARTBEAT_MINUTES: float = 3


def down_daemons(
    daemon_health: Mapping[str, Mapping[str, Any]],
    polled_at: datetime | None,
    *,
    polls_failing: bool,
    minutes: float = HEARTBEAT_MINUTES,
    judged: Iterable[str] = HEARTBEAT_DAEMONS,
) -> list[str]:
    """Required daemons that Dagster calls unhealthy or whose heartbeat is silent (an optional
    one, or one the instance does not run, is not required: Dagster says which)."""
    judged = frozenset(judged)
    return sorted(
        name
        for name, status in daemon_health.items()
        if status.get("required")
        and (
            not status.get("healthy")
            or (
                name in judged
                and not polls_failing
                and silent(status.get("last_heartbeat"), polled_at, minutes)
            )
        )
    )


def silent(beat: object, polled_at: datetime | None, minutes: float) -> bool:
    """The heartbeat was ``minutes`` old when the deployment last answered. Judged at the poll,
    not at the clock: a poll that failed leaves an old snapshot, whose age says nothing about
    the daemon (``deployment_unreachable`` tells that story)."""
    if polled_at is None or not isinstance(beat, int | float) or isinstance(beat, bool):
        return False
    return polled_at - datetime.fromtimestamp(beat, UTC) >= timedelta(minutes=minutes)


def heartbeat_at(status: Mapping[str, Any]) -> datetime | None:
    """When the daemon last beat, if Dagster said."""
    beat = status.get("last_heartbeat")
    if not isinstance(beat, int | float) or isinstance(beat, bool):
        return None
    return datetime.fromtimestamp(beat, UTC)
