"""What a poll reads, counted (benchmarks/poll_cost.py measures its CPU): an idle poll, which
sees again only runs it stored, reads no source; a busy poll reads the deployment's sources once
however many runs it details, and notes their latest state without a read per source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Deployment, Run
from monitoring.polling import Poller, client_for, poll_deployment
from tests.fixtures.fleet_sim import FixedClock, FleetConfig, FleetSimulator

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START + 5 * 60)  # the runs of 00:00 have ended, the next start at 00:10


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[FleetSimulator]:
    config = FleetConfig(
        deployments=1,
        assets_per_deployment=20,
        assets_per_job=5,
        run_interval_s=600.0,
        run_duration_s=60.0,
        burst_share=1.0,  # every job starts in the first minute of each ten
        history_s=3600.0,
        failure_rate=0.0,
        clock=clock,
    )
    with FleetSimulator(config) as simulator:
        yield simulator


def source_reads(captured: CaptureQueriesContext) -> int:
    return sum('FROM "monitoring_source"' in q["sql"] for q in captured.captured_queries)


def poll_counted(deployment: Deployment, clock: FixedClock) -> tuple[int, dict[str, int]]:
    """Source reads of the poll itself (the evaluation after it reads what it judges)."""
    poller = Poller(deployment, clock.now, client_for(deployment))
    with CaptureQueriesContext(connection) as captured:
        poller.run()
    return source_reads(captured), poller.stats.as_dict()


def caught_up(sim: FleetSimulator, clock: FixedClock) -> Deployment:
    deployment = Deployment.objects.create(name=sim.names[0], graphql_url=sim.url_for(sim.names[0]))
    assert poll_deployment(deployment, clock.now), deployment.last_error
    assert not Run.objects.filter(details_fetched=False, status="SUCCESS").exists()
    return deployment


def test_an_idle_poll_reads_no_source(sim: FleetSimulator, clock: FixedClock) -> None:
    deployment = caught_up(sim, clock)
    clock.at += 60  # mid-interval: the overlap shows the newest runs again, nothing new
    reads, stats = poll_counted(deployment, clock)
    assert stats["runs_fetched"] > 0
    assert (stats["runs_created"], stats["runs_updated"], stats["run_details"]) == (0, 0, 0)
    assert reads == 0


def test_a_busy_poll_reads_the_sources_once_for_all_its_runs(
    sim: FleetSimulator, clock: FixedClock, settings: Any
) -> None:
    settings.DAGSTER_DISCOVERY_INTERVAL_SECONDS = 3600  # discovery reads them: not this poll
    deployment = caught_up(sim, clock)
    clock.at += 10 * 60  # every job ran once more
    reads, stats = poll_counted(deployment, clock)
    assert stats["run_details"] == 4, stats
    assert stats["touched_sources"] >= 20
    # One read to plan the new runs, one to settle all four: not one per run or per source.
    assert reads == 2
