"""Storing what a poll fetched: discovery rules that the real webserver cannot easily show."""

from __future__ import annotations

import pytest
from django.utils import timezone

from monitoring import sync
from monitoring.choices import RunAssetOutcome, RunStatus
from monitoring.dagster import parse
from monitoring.models import Deployment, Run, Source

pytestmark = pytest.mark.django_db


def asset(
    key: str, location: str = "confradar", upstream: list[str] | None = None
) -> parse.AssetDefinition:
    return parse.AssetDefinition(
        key=key,
        code_location=location,
        repository="__repository__",
        group_name="scrapers",
        description="",
        owners=["team:data"],
        tags={},
        kinds=["python"],
        op_names=[key],
        job_names=["crawl_job"],
        partitions_definition="",
        freshness_policy={},
        upstream_keys=upstream or [],
        schedule_names=[],
        sensor_names=[],
    )


def discovery(*assets: parse.AssetDefinition, loaded: set[str] | None = None) -> parse.Discovery:
    return parse.Discovery(
        loaded_locations={"confradar", "other"} if loaded is None else loaded, assets=list(assets)
    )


@pytest.fixture
def deployment() -> Deployment:
    return Deployment.objects.create(name="prod", graphql_url="http://d/graphql")


def test_an_asset_that_disappears_is_marked_gone_not_deleted(deployment: Deployment) -> None:
    now = timezone.now()
    sync.apply_discovery(deployment, discovery(asset("a"), asset("b")), now)
    result = sync.apply_discovery(deployment, discovery(asset("a")), now)
    assert result.gone == ["b"]
    gone = Source.objects.get(key="b")
    assert gone.is_gone and gone.gone_since == now
    sync.apply_discovery(deployment, discovery(asset("a"), asset("b")), now)
    gone.refresh_from_db()
    assert not gone.is_gone and gone.gone_since is None


def test_assets_of_a_location_that_failed_to_load_are_not_gone(deployment: Deployment) -> None:
    now = timezone.now()
    sync.apply_discovery(deployment, discovery(asset("a"), asset("x", location="other")), now)
    # 'other' fails to load: its assets vanish from the answer, but they are not gone.
    result = sync.apply_discovery(deployment, discovery(asset("a"), loaded={"confradar"}), now)
    assert result.gone == []
    assert not Source.objects.get(key="x").is_gone


def test_lineage_follows_the_asset_graph(deployment: Deployment) -> None:
    now = timezone.now()
    sync.apply_discovery(
        deployment, discovery(asset("a"), asset("b"), asset("store", upstream=["a", "b"])), now
    )
    store = Source.objects.get(key="store")
    assert {s.key for s in store.upstream.all()} == {"a", "b"}
    sync.apply_discovery(
        deployment, discovery(asset("a"), asset("b"), asset("store", upstream=["b"])), now
    )
    assert {s.key for s in store.upstream.all()} == {"b"}
    assert [s.key for s in Source.objects.get(key="b").downstream.all()] == ["store"]


def test_slugs_are_unique_across_deployments(deployment: Deployment) -> None:
    other = Deployment.objects.create(name="prod-", graphql_url="http://e/graphql")
    now = timezone.now()
    sync.apply_discovery(deployment, discovery(asset("x")), now)
    sync.apply_discovery(other, discovery(asset("x")), now)
    assert Source.objects.values_list("slug", flat=True).distinct().count() == 2


def test_a_failed_location_is_recorded_on_the_deployment(deployment: Deployment) -> None:
    answer = parse.PollAnswer(
        version="1.13.27",
        daemons=[parse.DaemonState("SCHEDULER", True, False, None, "heartbeat missed")],
        locations=[parse.LocationState("confradar", 1.0, "DagsterImportError: no module scrapy")],
        runs=[],
    )
    sync.apply_health(deployment, answer)
    deployment.record_poll_success(timezone.now(), 10.0, "1.13.27")
    deployment.refresh_from_db()
    assert deployment.code_location_errors == {"confradar": "DagsterImportError: no module scrapy"}
    assert deployment.unhealthy_daemons == ["SCHEDULER"]


def run_record(run_id: str, status: str, tags: dict[str, str] | None = None) -> parse.RunRecord:
    return parse.RunRecord(
        run_id=run_id,
        job_name="crawl_job",
        status=status,
        creation_time=100.0,
        start_time=101.0,
        end_time=110.0,
        update_time=110.0,
        parent_run_id="",
        root_run_id="",
        tags=tags or {},
        asset_selection=None,
    )


def test_a_failure_dagster_will_retry_is_not_final(deployment: Deployment) -> None:
    sync.apply_runs(
        deployment, [run_record("r1", "FAILURE", {"dagster/will_retry": "true"})], 110.0
    )
    run = Run.objects.get(run_id="r1")
    assert run.will_retry and not run.is_final_failure


def test_a_retry_run_knows_its_lineage(deployment: Deployment) -> None:
    tags = {"dagster/parent_run_id": "r1", "dagster/root_run_id": "r1", "dagster/retry_number": "1"}
    sync.apply_runs(deployment, [run_record("r2", "SUCCESS", tags)], 110.0)
    run = Run.objects.get(run_id="r2")
    assert (run.parent_run_id, run.root_run_id, run.retry_number) == ("r1", "r1", 1)
    assert run.launch_reason == "retry"


def test_run_details_settle_outcomes_and_notify(deployment: Deployment) -> None:
    now = timezone.now()
    sync.apply_discovery(deployment, discovery(asset("a"), asset("b")), now)
    sync.apply_runs(deployment, [run_record("r1", "FAILURE")], 110.0)
    run = Run.objects.get(run_id="r1")
    assert set(run.run_assets.values_list("outcome", flat=True)) == {RunAssetOutcome.PLANNED}
    details = parse.RunDetails(
        run_id="r1",
        status="FAILURE",
        step_failures=[parse.StepFailure("b", "ConnectionError", "HTTP 503 from b.org")],
        asset_events=[
            parse.AssetEventRecord("materialization", "a", "110000", "a", "", {"count": 7.0}, {})
        ],
    )
    touched = sync.apply_run_details(run, details)
    outcomes = dict(run.run_assets.values_list("source__key", "outcome"))
    assert outcomes == {"a": RunAssetOutcome.MATERIALIZED, "b": RunAssetOutcome.FAILED}
    assert touched == set(Source.objects.filter(key__in=["a", "b"]).values_list("pk", flat=True))
    a = Source.objects.get(key="a")
    assert a.last_status == RunStatus.SUCCESS and a.last_metrics == {"count": 7.0}
    run.refresh_from_db()
    assert run.error_message == "HTTP 503 from b.org" and run.failed_step == "b"
    assert sync.apply_run_details(run, details) == touched  # replay: nothing doubles
    assert a.events.count() == 1


def test_a_run_of_a_partition_range_records_its_range_as_its_partition(
    deployment: Deployment,
) -> None:
    ranged = {
        "dagster/asset_partition_range_start": "2026-11-01",
        "dagster/asset_partition_range_end": "2026-11-07",
        "dagster/backfill": "bf1",
    }
    single = {
        "dagster/asset_partition_range_start": "2026-11-08",
        "dagster/asset_partition_range_end": "2026-11-08",
    }
    records = [
        run_record("r1", "FAILURE", ranged),
        run_record("r2", "SUCCESS", single),
        run_record("r3", "SUCCESS", {"dagster/partition": "2026-11-09"}),
        run_record("r4", "SUCCESS"),
    ]
    sync.apply_runs(deployment, records, 110.0)
    partitions = dict(Run.objects.values_list("run_id", "partition"))
    assert partitions == {
        "r1": "2026-11-01…2026-11-07",
        "r2": "2026-11-08",
        "r3": "2026-11-09",
        "r4": "",
    }
