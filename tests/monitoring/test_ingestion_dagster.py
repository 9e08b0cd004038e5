"""Ingestion against the real Dagster webserver running the example pipeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from monitoring import polling, signals
from monitoring.choices import RunAssetOutcome, RunStatus, SourceKind
from monitoring.models import CheckResult, Deployment, Instigator, Run, RunAsset, Source
from tests.fixtures.dagster import (
    DagsterDaemon,
    DagsterServer,
    free_port,
    start_dagster_webserver,
)

pytestmark = [pytest.mark.dagster, pytest.mark.django_db]

SCRAPERS = {
    "ai_deadlines_conferences",
    "acl_web_conferences",
    "chairing_tool_conferences",
    "elra_conferences",
    "wikicfp_conferences",
}


def watch(server: DagsterServer, name: str = "confradar") -> Deployment:
    return Deployment.objects.create(
        name=name, graphql_url=server.graphql_url, ui_url=server.base_url
    )


def poll(deployment: Deployment) -> None:
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    deployment.refresh_from_db()


def run_to_end(server: DagsterServer, **faults: dict[str, object]) -> str:
    server.set_faults(faults)
    try:
        run_id = server.launch_run("crawl_job")
        server.wait_for_run(run_id)
    finally:
        server.clear_faults()
    return run_id


@pytest.fixture
def deployment(dagster_webserver: DagsterServer) -> Deployment:
    deployment = watch(dagster_webserver)
    poll(deployment)
    return deployment


def test_discovery_finds_assets_job_schedules_and_sensor(deployment: Deployment) -> None:
    assets = {s.key: s for s in Source.objects.filter(deployment=deployment, kind=SourceKind.ASSET)}
    assert set(assets) == SCRAPERS | {"store_conferences"}
    assert {assets[k].group_name for k in SCRAPERS} == {"scrapers"}
    store = assets["store_conferences"]
    assert store.group_name == "storage"
    assert {s.key for s in store.upstream.all()} == SCRAPERS
    assert "crawl_job" in store.job_names
    assert "daily_crawl_schedule" in store.schedule_names
    job = Source.objects.get(deployment=deployment, kind=SourceKind.JOB, key="crawl_job")
    assert job.is_asset_job is True
    schedules = {
        i.name: i for i in Instigator.objects.filter(deployment=deployment, kind="schedule")
    }
    assert schedules["daily_crawl_schedule"].cron == "0 2 * * *"
    assert schedules["daily_crawl_schedule"].timezone == "UTC"
    assert Instigator.objects.filter(
        deployment=deployment, kind="sensor", name="crawl_failure_sensor"
    ).exists()
    assert deployment.dagster_version and deployment.daemon_health is not None


def test_operator_edits_survive_rediscovery(deployment: Deployment) -> None:
    elra = Source.objects.get(deployment=deployment, key="elra_conferences")
    elra.owner, elra.runbook_slug, elra.group_name = "data-team", "scraper-failure", "tampered"
    elra.save()
    deployment.workspace_fingerprint = "force rediscovery"
    deployment.save()
    poll(deployment)
    elra.refresh_from_db()
    assert (elra.owner, elra.runbook_slug) == ("data-team", "scraper-failure")
    assert elra.group_name == "scrapers"  # Dagster's own field comes back from Dagster


def test_a_successful_run_arrives_with_counts(
    dagster_webserver: DagsterServer, deployment: Deployment
) -> None:
    run_id = run_to_end(dagster_webserver)
    touched: list[set[int]] = []

    def listener(source_ids: set[int], **_: object) -> None:
        touched.append(source_ids)

    signals.sources_touched.connect(listener)
    try:
        poll(deployment)
    finally:
        signals.sources_touched.disconnect(listener)
    run = Run.objects.get(deployment=deployment, run_id=run_id)
    assert run.status == RunStatus.SUCCESS and run.details_fetched
    assert run.job_name == "crawl_job" and run.duration_s is not None
    outcomes = dict(run.run_assets.values_list("source__key", "outcome"))
    assert {outcomes[k] for k in SCRAPERS | {"store_conferences"}} == {RunAssetOutcome.MATERIALIZED}
    for key in SCRAPERS:
        source = Source.objects.get(deployment=deployment, key=key)
        assert source.last_metrics["count"] > 0, key
        assert source.last_success_at == run.ended_at
        event = source.events.get(run=run)
        assert event.metrics["count"] == source.last_metrics["count"]
    store = Source.objects.get(deployment=deployment, key="store_conferences")
    assert {"total_scraped", "new_conferences", "updated_conferences", "duplicates"} <= set(
        store.last_metrics
    )
    assert touched == [set(run.run_assets.values_list("source_id", flat=True))]


def test_an_injected_failure_arrives_with_its_error_and_failing_asset(
    dagster_webserver: DagsterServer, deployment: Deployment
) -> None:
    message = "HTTP 503 Service Unavailable from https://www.elra.info/en/events/"
    run_id = run_to_end(dagster_webserver, elra_conferences={"fail": True, "message": message})
    poll(deployment)
    run = Run.objects.get(deployment=deployment, run_id=run_id)
    assert run.status == RunStatus.FAILURE and run.is_final_failure
    assert message in run.error_message
    assert run.failed_step == "elra_conferences"
    outcomes = dict(run.run_assets.values_list("source__key", "outcome"))
    assert outcomes["elra_conferences"] == RunAssetOutcome.FAILED
    assert outcomes["store_conferences"] == RunAssetOutcome.SKIPPED
    assert outcomes["wikicfp_conferences"] == RunAssetOutcome.MATERIALIZED
    elra = Source.objects.get(deployment=deployment, key="elra_conferences")
    assert elra.last_status == RunStatus.FAILURE and elra.last_failure_at == run.ended_at
    assert run.step_stats and {s["stepKey"] for s in run.step_stats} >= {"elra_conferences"}


def test_failing_asset_checks_arrive_with_their_severity(
    dagster_webserver: DagsterServer, deployment: Deployment
) -> None:
    run_id = run_to_end(dagster_webserver, acl_web_conferences={"count_factor": 0.05})
    poll(deployment)
    failed = CheckResult.objects.filter(dagster_run_id=run_id, passed=False)
    assert failed.exists()
    by_source = {(c.source.key, c.severity) for c in failed.select_related("source")}
    assert ("acl_web_conferences", "ERROR") in by_source
    assert CheckResult.objects.filter(dagster_run_id=run_id, passed=True).exists()


def test_a_repeated_poll_stores_nothing_twice(
    dagster_webserver: DagsterServer, deployment: Deployment
) -> None:
    run_id = run_to_end(dagster_webserver)
    poll(deployment)
    counts = (Run.objects.count(), RunAsset.objects.count(), CheckResult.objects.count())
    deployment.runs_high_water_mark = 1.0  # replay everything
    deployment.save()
    poll(deployment)
    assert (Run.objects.count(), RunAsset.objects.count(), CheckResult.objects.count()) == counts
    assert Run.objects.filter(run_id=run_id).count() == 1


@pytest.fixture
def own_dagster(tmp_path: Path) -> Iterator[tuple[DagsterServer, Path, int]]:
    """A webserver this test may stop and restart on the same Dagster instance and port."""
    home, port = tmp_path / "dagster_home", free_port()
    server = start_dagster_webserver(home, port)
    try:
        yield server, home, port
    finally:
        server.process.stop()


def test_an_outage_loses_no_run(own_dagster: tuple[DagsterServer, Path, int]) -> None:
    server, home, port = own_dagster
    deployment = watch(server, "outage")
    poll(deployment)
    launched = [run_to_end(server)]
    server.process.stop()

    assert polling.poll_deployment(deployment, timezone.now()) is False
    deployment.refresh_from_db()
    assert not deployment.is_reachable and "unreachable" in deployment.last_error.lower()
    assert deployment.consecutive_failures == 1

    # Runs happen while confops cannot see this webserver: another one on the same instance.
    elsewhere = start_dagster_webserver(home)
    try:
        launched += [run_to_end(elsewhere), run_to_end(elsewhere)]
    finally:
        elsewhere.process.stop()
    back = start_dagster_webserver(home, port)
    try:
        launched.append(run_to_end(back))
        poll(deployment)
    finally:
        back.process.stop()
    assert deployment.is_reachable and deployment.consecutive_failures == 0
    stored = list(Run.objects.filter(deployment=deployment).values_list("run_id", flat=True))
    assert sorted(stored) == sorted(launched)
    assert Run.objects.filter(deployment=deployment, details_fetched=True).count() == 4


def test_a_failed_sensor_tick_arrives_with_its_error(
    dagster_daemon: DagsterDaemon, deployment: Deployment
) -> None:
    server = dagster_daemon.server
    server.set_faults({"source_registry_sensor": {"fail": True, "message": "registry timed out"}})
    try:
        deadline = time.monotonic() + 60
        while not any(
            t["status"] == "FAILURE" for t in dagster_daemon.sensor_ticks("source_registry_sensor")
        ):
            assert time.monotonic() < deadline, dagster_daemon.process.tail()
            time.sleep(0.5)
    finally:
        server.clear_faults()
    deployment.ticks_polled_at = None  # ticks are read every half minute: read them now
    deployment.save()
    poll(deployment)
    sensor = Instigator.objects.get(deployment=deployment, name="source_registry_sensor")
    tick = sensor.failed_ticks.first()
    assert tick is not None and "registry timed out" in tick.error_message
    assert deployment.unhealthy_daemons == []
    assert deployment.daemon_health["SENSOR"]["healthy"] is True
