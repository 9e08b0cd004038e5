"""The fleet simulator (tests/fixtures/fleet_sim.py) polled by confops' real poller: each
deployment at its own URL, pagination over more runs than a page, faults recorded as failed
polls, and a deterministic timeline on an injected clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from monitoring.choices import RunAssetOutcome, SourceKind
from monitoring.models import CheckResult, Deployment, PollRecord, Run, RunAsset
from monitoring.polling import poll_deployment
from tests.fixtures.fleet_sim import Fault, FaultKind, FixedClock, FleetConfig, FleetSimulator

pytestmark = pytest.mark.django_db

# A fixed simulated timeline, the same for the simulator's clock and the poller's ``now``.
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def fleet(clock: FixedClock, **overrides: object) -> FleetConfig:
    values: dict[str, object] = {
        "deployments": 2,
        "assets_per_deployment": 10,
        "assets_per_job": 5,
        "run_interval_s": 600.0,
        "run_duration_s": 60.0,
        "history_s": HOUR,
        "clock": clock,
    }
    values.update(overrides)
    return FleetConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[FleetSimulator]:
    with FleetSimulator(fleet(clock, deployments=3)) as simulator:
        yield simulator


def watch(sim: FleetSimulator, name: str) -> Deployment:
    return Deployment.objects.create(name=name, graphql_url=sim.url_for(name))


def poll(deployment: Deployment, clock: FixedClock) -> bool:
    return poll_deployment(deployment, clock.now)


def test_each_deployment_answers_at_its_own_url(sim: FleetSimulator, clock: FixedClock) -> None:
    deployments = [watch(sim, name) for name in sim.names]
    assert all(poll(d, clock) for d in deployments), [d.last_error for d in deployments]
    for index, deployment in enumerate(deployments):
        assets = deployment.sources.filter(kind=SourceKind.ASSET)
        assert assets.count() == 10
        assert {s.key.split("/")[0] for s in assets} == {f"team{index:03d}"}
        stored = set(deployment.runs.values_list("run_id", flat=True))
        assert stored == {r.run_id for r in sim.runs(deployment.name)}
    assert {r.deployment for r in sim.requests} == set(sim.names)


def test_a_poll_pages_through_more_runs_than_fit_one_page(clock: FixedClock, settings: Any) -> None:
    settings.DAGSTER_RUNS_PAGE_SIZE = 4
    with FleetSimulator(fleet(clock, deployments=1, history_s=3 * HOUR)) as sim:
        deployment = watch(sim, sim.names[0])
        assert poll(deployment, clock), deployment.last_error
        pages = [r.operation for r in sim.requests].count("RunsPage")
        expected = sim.runs(deployment.name)
    assert len(expected) == 2 * 18  # two jobs, every 10 minutes for three hours
    assert pages >= len(expected) // 4
    assert set(Run.objects.values_list("run_id", flat=True)) == {r.run_id for r in expected}


def test_the_next_poll_reads_only_what_changed_since_the_last(
    sim: FleetSimulator, clock: FixedClock
) -> None:
    deployment = watch(sim, sim.names[0])
    assert poll(deployment, clock)
    running = {r.run_id for r in sim.runs(deployment.name) if r.status_at(clock.at) == "STARTED"}
    clock.at += 30 * 60
    assert poll(deployment, clock), deployment.last_error
    runs = {r.run_id: r for r in sim.runs(deployment.name)}
    stored = dict(Run.objects.values_list("run_id", "status"))
    assert stored == {run_id: run.status_at(clock.at) for run_id, run in runs.items()}
    assert all(stored[run_id] != "STARTED" for run_id in running)
    second_poll = [r for r in sim.requests if r.operation == "Poll"][-1]
    assert second_poll.at == clock.at


def test_materialisations_checks_and_failures_are_stored_as_from_dagster(clock: FixedClock) -> None:
    config = fleet(clock, deployments=1, failure_rate=0.5, check_every=1, history_s=2 * HOUR)
    with FleetSimulator(config) as sim:
        deployment = watch(sim, sim.names[0])
        assert poll(deployment, clock), deployment.last_error
        runs = [r for r in sim.runs(deployment.name) if r.end <= clock.at]
    failed = [r for r in runs if r.status == "FAILURE"]
    assert failed and len(failed) < len(runs)
    for run in failed:
        stored = Run.objects.get(run_id=run.run_id)
        assert (stored.status, stored.failed_step) == ("FAILURE", run.failed_step)
        assert stored.error_message == f"Exception: {run.error_message}"
        assert re.fullmatch(r"simulated failure: [a-z]{6} refused the load", run.error_message)
        failing = RunAsset.objects.get(run=stored, source__key=run.failed_step.replace("__", "/"))
        assert failing.outcome == RunAssetOutcome.FAILED
    for run in runs:
        for key, metadata in run.materialised:
            link = RunAsset.objects.get(run__run_id=run.run_id, source__key=key)
            assert link.outcome == RunAssetOutcome.MATERIALIZED
            assert link.metrics == {"dagster/row_count": float(metadata["dagster/row_count"])}
    expected_checks = sum(len(r.checks) for r in runs)
    assert expected_checks and CheckResult.objects.count() == expected_checks


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        (FaultKind.OUTAGE, "503"),
        (FaultKind.HANG_UP, "unreachable"),
        (FaultKind.GARBAGE, "not JSON"),
        (FaultKind.WRONG_SHAPE, "expected"),
    ],
)
def test_a_fault_is_a_failed_poll_and_the_next_good_poll_catches_up(
    sim: FleetSimulator, clock: FixedClock, kind: FaultKind, says: str
) -> None:
    deployment = watch(sim, sim.names[1])
    sim.set_fault(deployment.name, Fault(kind))
    assert poll(deployment, clock) is False
    deployment.refresh_from_db()
    assert says in deployment.last_error
    assert not PollRecord.objects.get().ok
    assert not Run.objects.exists()
    sim.clear_fault(deployment.name)
    clock.at += 60
    assert poll(deployment, clock), deployment.last_error
    assert Run.objects.count() == len(sim.runs(deployment.name)) > 0


def test_slow_answers_run_into_the_poll_deadline(
    sim: FleetSimulator, clock: FixedClock, settings: Any
) -> None:
    settings.DAGSTER_REQUEST_TIMEOUT_SECONDS = 0.3
    deployment = watch(sim, sim.names[0])
    sim.set_fault(deployment.name, Fault(FaultKind.SLOW_ANSWERS, factor=2.0))
    assert poll(deployment, clock) is False
    assert "did not finish its answer within 0.3 s" in deployment.last_error


def test_a_silent_deployment_starts_no_runs_in_its_window(clock: FixedClock) -> None:
    silence = Fault(FaultKind.SILENCE, since=START - 1800)
    config = fleet(clock, deployments=2, faults={"sim001": silence})
    with FleetSimulator(config) as sim:
        quiet = sim.runs("sim001")
        busy = sim.runs("sim000")
    assert quiet and busy
    assert max(r.start for r in quiet) < START - 1800 <= max(r.start for r in busy)


def test_slow_runs_take_factor_times_longer(clock: FixedClock) -> None:
    slow = Fault(FaultKind.SLOW_RUNS, factor=10.0)
    normal = FleetSimulator(fleet(clock, deployments=1)).runs("sim000")
    slowed = FleetSimulator(fleet(clock, deployments=1, faults={"sim000": slow})).runs("sim000")
    assert [r.run_id for r in slowed] == [r.run_id for r in normal]
    for fast, late in zip(normal, slowed, strict=True):
        assert late.end - late.start == pytest.approx(10 * (fast.end - fast.start))


def test_the_timeline_is_deterministic_and_bursts_at_the_top_of_the_interval(
    clock: FixedClock,
) -> None:
    config = fleet(clock, deployments=4, assets_per_deployment=100, assets_per_job=1)
    first, second = FleetSimulator(config), FleetSimulator(config)
    assert first.ended_runs() == second.ended_runs()
    ended = first.ended_runs(since=START - 1200, until=START - 600)
    assert ended and all(START - 1200 < run.end <= START - 600 for _, run in ended)
    offsets = [run.start % 600 for name in first.names for run in first.runs(name)]
    in_burst = sum(offset < 60 for offset in offsets) / len(offsets)
    assert 0.45 < in_burst < 0.65  # half the jobs in the first minute, the rest spread


def test_an_unknown_deployment_path_is_a_404(sim: FleetSimulator, clock: FixedClock) -> None:
    deployment = Deployment.objects.create(name="ghost", graphql_url=sim.base_url + "/x/graphql")
    assert poll(deployment, clock) is False
    assert "404" in deployment.last_error
