"""monitoring.daemons: whether a Dagster daemon is down, judged from its heartbeat times (the one
judgement of the status grid, /health/detailed and the deployment_unhealthy rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.daemons import down_daemons
from monitoring.models import Deployment

POLLED = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def beat(minutes_before_poll: float, **fields: object) -> dict[str, object]:
    at = (POLLED - timedelta(minutes=minutes_before_poll)).timestamp()
    return {"required": True, "healthy": True, "last_heartbeat": at, **fields}


def test_a_daemon_silent_for_three_minutes_is_down_though_dagster_calls_it_healthy() -> None:
    health = {"SCHEDULER": beat(3), "SENSOR": beat(2.9), "BACKFILL": beat(8)}
    assert down_daemons(health, POLLED, polls_failing=False) == ["BACKFILL", "SCHEDULER"]


def test_dagsters_flag_still_counts_and_optional_daemons_never_do() -> None:
    health = {
        "SENSOR": beat(0, healthy=False),
        "QUEUED_RUN_COORDINATOR": beat(60, required=False),
        "ASSET": beat(60),  # not judged by its heartbeat: left to Dagster's flag
    }
    assert down_daemons(health, POLLED, polls_failing=False) == ["SENSOR"]


def test_an_old_snapshot_from_failing_polls_says_nothing_about_heartbeats() -> None:
    assert down_daemons({"SCHEDULER": beat(30)}, POLLED, polls_failing=True) == []
    assert down_daemons({"SCHEDULER": beat(30)}, None, polls_failing=False) == []


@pytest.mark.django_db
def test_the_deployment_shows_the_same_judgement() -> None:
    deployment = Deployment.objects.create(
        name="retailfeed",
        graphql_url="http://retailfeed/graphql",
        last_success_at=POLLED,
        daemon_health={"SCHEDULER": beat(8), "SENSOR": beat(0.5)},
    )
    assert deployment.unhealthy_daemons == ["SCHEDULER"]
    deployment.failing_since = POLLED + timedelta(minutes=1)
    assert deployment.unhealthy_daemons == []
