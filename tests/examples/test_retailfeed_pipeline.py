"""The RetailFeed example on a real Dagster webserver: it loads, confops discovers it, and each
fault switch in examples/retailfeed/README.md does what the README says."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from monitoring import polling
from monitoring.choices import SourceKind
from monitoring.models import Deployment, Instigator, Source
from tests.fixtures.retailfeed import (
    RETAILFEED_DIR,
    RETAILFEED_GRAPHQL_DOCUMENTS,
    RetailfeedServer,
)

if str(RETAILFEED_DIR) not in sys.path:
    sys.path.insert(0, str(RETAILFEED_DIR))

from retailfeed import faults as retailfeed_faults

RETAILERS = ("acme", "borealis", "corvid", "dunmore")
INGESTION_KEYS = {f"retail/{r}/{t}" for r in RETAILERS for t in ("products", "prices")}
CATALOG_KEYS = {"retail/catalog/assortment", "retail/catalog/weekly_summary"}
SUPPLIER_KEY = "retail/supplier/master_feed"
ACME_ERROR = "acme feed: HTTP 502 Bad Gateway from feeds.acme.example"
BOREALIS_ERROR = "borealis API: 401 Unauthorized (token expired)"
RUN_ERROR = "retail_executor: worker pool unavailable (test)"

ASSET_EVENTS_QUERY = """
query AssetEvents($keys: [AssetKeyInput!]) {
  assetsOrError(assetKeys: $keys) {
    ... on AssetConnection {
      nodes {
        key { path }
        assetMaterializations(limit: 20) {
          runId partition
          metadataEntries { label ... on IntMetadataEntry { intValue } }
        }
        assetObservations(limit: 20) {
          runId partition
          metadataEntries { label ... on IntMetadataEntry { intValue } }
        }
      }
    }
  }
}
"""

ASSET_NODES_QUERY = """
query Nodes {
  assetNodes {
    assetKey { path }
    isObservable
    partitionDefinition { type }
    freshnessPolicy { maximumLagMinutes }
    internalFreshnessPolicy {
      __typename
      ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds }
    }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


ENGINE_ERRORS_QUERY = """
query EngineErrors($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run {
      eventConnection(limit: 500) {
        events { __typename ... on EngineEvent { message error { className message } } }
      }
    }
  }
}
"""


def days_ago(n: int) -> str:
    """A daily partition key ``n`` days before today (UTC), so every key already exists."""
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def last_complete_week() -> str:
    """The weekly partition (weeks start on Sunday) that ended most recently."""
    today = datetime.now(UTC).date()
    return (today - timedelta(days=(today.weekday() + 1) % 7 + 7)).isoformat()


@dataclass
class Runs:
    """Run ids of the module's runs, launched together and read by the tests."""

    healthy: str
    run_failure: str
    two_errors: str
    failed_partition: str
    later_partition: str
    volume_drop: str
    weekly_baseline: str
    weekly_drop: str
    catalog: str
    observe: str
    partitions: dict[str, str]


@pytest.fixture(scope="module")
def runs(retailfeed_webserver: RetailfeedServer) -> Iterator[Runs]:
    """Every switch that a run can show, in one faults file scoped by partition and job."""
    server = retailfeed_webserver
    keys = {
        "healthy": days_ago(6),
        "two": days_ago(5),
        "failed": days_ago(3),
        "later": days_ago(2),
        "drop": days_ago(1),
    }
    server.set_faults(
        {
            "run": {"fail": True, "message": RUN_ERROR, "jobs": ["catalog_job"]},
            "assets": {
                "retail/acme/products": [
                    {
                        "fail": True,
                        "error_type": "ConnectionError",
                        "partitions": [keys["two"], keys["failed"]],
                    },
                    {"volume_factor": 0.35, "partitions": [keys["drop"]]},
                ],
                "retail/borealis/products": {
                    "fail": True,
                    "error_type": "PermissionError",
                    "partitions": [keys["two"]],
                },
                "retail/corvid/prices": {"volume_factor": 0.35, "partitions": [keys["drop"]]},
            },
        }
    )
    try:
        launched = {
            "healthy": server.launch_partition("daily_ingest_job", keys["healthy"]),
            "run_failure": server.launch_run("catalog_job"),
            "two_errors": server.launch_partition("daily_ingest_job", keys["two"]),
            "failed_partition": server.launch_partition("daily_ingest_job", keys["failed"]),
            "later_partition": server.launch_partition("daily_ingest_job", keys["later"]),
            "volume_drop": server.launch_partition("daily_ingest_job", keys["drop"]),
            "observe": server.launch_run("observe_supplier_job"),
        }
        for run_id in launched.values():
            server.wait_for_run(run_id)
        week = last_complete_week()
        launched["weekly_baseline"] = server.launch_partition("weekly_summary_job", week)
        server.wait_for_run(launched["weekly_baseline"])
        server.set_faults({"assets": {"retail/catalog/weekly_summary": {"volume_factor": 0.35}}})
        launched["weekly_drop"] = server.launch_partition("weekly_summary_job", week)
        server.wait_for_run(launched["weekly_drop"])
        server.clear_faults()
        launched["catalog"] = server.launch_run("catalog_job")
        server.wait_for_run(launched["catalog"])
        yield Runs(**launched, partitions=keys)
    finally:
        server.clear_faults()


def step_failures(server: RetailfeedServer, run_id: str) -> dict[str, str]:
    """Each failed step's user error (``error.cause``), by step key."""
    failures = {}
    for event in server.run_events(run_id):
        if event["__typename"] == "ExecutionStepFailureEvent":
            error = event.get("error") or {}
            failures[event["stepKey"]] = (error.get("cause") or error).get("message", "")
    return failures


def volumes(server: RetailfeedServer, path: str, label: str) -> dict[str, int]:
    """The value of metadata ``label`` on each materialization of ``path``, by run id."""
    node = asset_node(server, path)
    out = {}
    for event in node["assetMaterializations"]:
        for entry in event["metadataEntries"]:
            if entry["label"] == label:
                out[event["runId"]] = entry["intValue"]
    return out


@pytest.mark.dagster
def test_the_run_switch_fails_the_run_before_any_step(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    server = retailfeed_webserver
    assert server.get_run(runs.run_failure)["status"] == "FAILURE"
    events = server.run_events(runs.run_failure)
    types = {e["__typename"] for e in events}
    assert "RunFailureEvent" in types
    assert not types & {"ExecutionStepFailureEvent", "ExecutionStepStartEvent"}
    # The executor's exception is on an ENGINE_EVENT; the RUN_FAILURE itself carries no error.
    errors = server.data(ENGINE_ERRORS_QUERY, {"runId": runs.run_failure})["runOrError"]
    messages = [
        (e.get("error") or {}).get("message", "")
        for e in errors["eventConnection"]["events"]
        if e["__typename"] == "EngineEvent"
    ]
    assert any(RUN_ERROR in m for m in messages), messages
    assert server.get_run(runs.catalog)["status"] == "SUCCESS"


@pytest.mark.dagster
def test_two_assets_fail_in_one_run_with_two_errors(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    failures = step_failures(retailfeed_webserver, runs.two_errors)
    assert set(failures) == {"retail__acme__products", "retail__borealis__products"}
    assert failures["retail__acme__products"].strip() == f"ConnectionError: {ACME_ERROR}"
    assert failures["retail__borealis__products"].strip() == f"PermissionError: {BOREALIS_ERROR}"


@pytest.mark.dagster
def test_one_partition_fails_while_the_others_succeed(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    server = retailfeed_webserver
    assert server.get_run(runs.failed_partition)["status"] == "FAILURE"
    assert set(step_failures(server, runs.failed_partition)) == {"retail__acme__products"}
    for run_id in (runs.healthy, runs.later_partition):
        assert server.get_run(run_id)["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("path", "label", "run_name"),
    [
        ("retail/acme/products", "dagster/row_count", "volume_drop"),
        ("retail/corvid/prices", "sku_count", "volume_drop"),
        ("retail/catalog/weekly_summary", "Number of records", "weekly_drop"),
    ],
)
@pytest.mark.dagster
def test_a_volume_switch_drops_the_count_to_35_percent(
    retailfeed_webserver: RetailfeedServer, runs: Runs, path: str, label: str, run_name: str
) -> None:
    by_run = volumes(retailfeed_webserver, path, label)
    baseline_run = runs.weekly_baseline if run_name == "weekly_drop" else runs.healthy
    dropped, baseline = by_run[getattr(runs, run_name)], by_run[baseline_run]
    assert 0.30 * baseline < dropped < 0.40 * baseline, (dropped, baseline)


@pytest.mark.dagster
def test_the_observable_source_is_observed_in_a_run(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    assert retailfeed_webserver.get_run(runs.observe)["status"] == "SUCCESS"
    node = asset_node(retailfeed_webserver, SUPPLIER_KEY)
    # Runless observations (reported by other tests on the session's instance) have no run id.
    assert [o["runId"] for o in node["assetObservations"] if o["runId"]] == [runs.observe]


@pytest.mark.dagster
def test_a_runless_materialization_and_observation_have_no_run(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    server = retailfeed_webserver
    server.report_runless("materialization", "retail/acme/products", 1234, days_ago(4))
    server.report_runless("observation", SUPPLIER_KEY, 4321)
    products = asset_node(server, "retail/acme/products")["assetMaterializations"]
    runless = [m for m in products if not m["runId"]]
    assert [m["partition"] for m in runless] == [days_ago(4)]
    assert runless[0]["metadataEntries"] == [{"label": "dagster/row_count", "intValue": 1234}]
    observations = asset_node(server, SUPPLIER_KEY)["assetObservations"]
    assert {o["runId"] for o in observations} == {"", runs.observe}


@pytest.mark.dagster
def test_the_location_switch_breaks_the_code_location_until_cleared(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    server = retailfeed_webserver
    server.set_faults({"location": {"fail": True, "message": "schema registry down (test)"}})
    try:
        entry = server.reload_location()
        assert entry["locationOrLoadError"]["__typename"] == "PythonError"
        assert "schema registry down (test)" in json.dumps(entry["locationOrLoadError"])
    finally:
        server.clear_faults()
        entry = server.reload_location()
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"


@pytest.mark.dagster
def test_the_webserver_exposes_partitions_freshness_checks_and_the_source(
    retailfeed_webserver: RetailfeedServer,
) -> None:
    nodes = {
        "/".join(n["assetKey"]["path"]): n
        for n in retailfeed_webserver.data(ASSET_NODES_QUERY)["assetNodes"]
    }
    assert set(nodes) == INGESTION_KEYS | CATALOG_KEYS | {SUPPLIER_KEY}
    assert nodes[SUPPLIER_KEY]["isObservable"] is True
    assert nodes["retail/acme/products"]["partitionDefinition"]["type"] == "TIME_WINDOW"
    assert nodes["retail/acme/products"]["internalFreshnessPolicy"] == {
        "__typename": "TimeWindowFreshnessPolicy",
        "failWindowSeconds": 26 * 3600,
        "warnWindowSeconds": 25 * 3600,
    }
    assert nodes["retail/acme/prices"]["internalFreshnessPolicy"]["deadlineCron"] == "0 6 * * *"
    assert nodes["retail/acme/products"]["freshnessPolicy"] is None
    weekly = nodes["retail/catalog/weekly_summary"]
    assert weekly["freshnessPolicy"] == {"maximumLagMinutes": 8 * 24 * 60}
    assert weekly["internalFreshnessPolicy"] is None
    checks = {
        c["name"]: c["blocking"]
        for n in nodes.values()
        for c in (n["assetChecksOrError"].get("checks") or [])
    }
    assert checks == {
        "prices_positive": False,
        "prices_cover_products": False,
        "acme_products_have_skus": True,
    }


@pytest.mark.django_db
@pytest.mark.dagster
def test_confops_discovers_every_prefixed_asset_job_schedule_and_sensor(
    retailfeed_webserver: RetailfeedServer,
) -> None:
    deployment = Deployment.objects.create(
        name="retailfeed",
        graphql_url=retailfeed_webserver.graphql_url,
        ui_url=retailfeed_webserver.base_url,
    )
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    assets = {s.key: s for s in Source.objects.filter(deployment=deployment, kind=SourceKind.ASSET)}
    assert set(assets) >= INGESTION_KEYS | CATALOG_KEYS
    assert "Daily" in assets["retail/acme/products"].partitions_definition
    assert assets["retail/acme/products"].freshness_policy
    # Dagster's TeamAssetOwner ``team:ingestion`` answers as the team name.
    assert assets["retail/acme/products"].dagster_owners == ["ingestion"]
    assert "daily_ingest_job" in assets["retail/acme/prices"].job_names
    jobs = set(
        Source.objects.filter(deployment=deployment, kind=SourceKind.JOB).values_list(
            "key", flat=True
        )
    )
    assert jobs >= {"daily_ingest_job", "catalog_job", "weekly_summary_job"}
    instigators = set(Instigator.objects.filter(deployment=deployment).values_list("kind", "name"))
    assert {("schedule", "daily_ingest_schedule"), ("sensor", "catalog_drop_sensor")} <= (
        instigators
    )


@pytest.mark.slow
@pytest.mark.dagster
def test_a_backfill_of_failing_partitions_fails_each_partition(
    retailfeed_webserver: RetailfeedServer, retailfeed_daemon: Any
) -> None:
    server = retailfeed_webserver
    keys = [days_ago(n) for n in (9, 8, 7)]
    server.set_faults({"assets": {"retail/dunmore/products": {"fail": True, "partitions": keys}}})
    try:
        backfill_id = server.launch_backfill(["retail/dunmore/products"], keys)
        backfill = server.wait_for_backfill(backfill_id, timeout=150)
    finally:
        server.clear_faults()
    assert sorted(backfill["partitionNames"]) == keys
    statuses = {
        next(t["value"] for t in r["tags"] if t["key"] == "dagster/partition"): r["status"]
        for r in backfill["runs"]
    }
    assert statuses == dict.fromkeys(keys, "FAILURE")


def asset_node(server: RetailfeedServer, path: str) -> dict[str, Any]:
    data = server.data(ASSET_EVENTS_QUERY, {"keys": [{"path": path.split("/")}]})
    return dict(data["assetsOrError"]["nodes"][0])


# --- without a server ----------------------------------------------------------------------


def test_retailfeed_graphql_documents_validate_against_installed_schema() -> None:
    """Field or type drift in the fixture's and this file's queries shows without a server."""
    from dagster_graphql.schema import create_schema  # lazy: only this test needs the schema
    from graphql import parse, validate

    schema = create_schema().graphql_schema
    documents = {
        **RETAILFEED_GRAPHQL_DOCUMENTS,
        "asset_events": ASSET_EVENTS_QUERY,
        "asset_nodes": ASSET_NODES_QUERY,
        "engine_errors": ENGINE_ERRORS_QUERY,
    }
    problems = {name: validate(schema, parse(doc)) for name, doc in documents.items()}
    assert {name: [str(e) for e in errs] for name, errs in problems.items() if errs} == {}


@pytest.mark.parametrize(
    ("partition", "expected"),
    [
        ("2026-12-01", {"fail": True, "volume_factor": 1.0}),
        ("2026-12-04", {"fail": False, "volume_factor": 0.35}),
        ("2026-12-05", {"fail": False, "volume_factor": 0.5}),
    ],
)
def test_an_asset_fault_applies_only_to_its_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partition: str, expected: dict[str, Any]
) -> None:
    faults_file = tmp_path / "faults.json"
    faults_file.write_text(
        json.dumps(
            {
                "assets": {
                    "*": {"volume_factor": 0.5},
                    "retail/acme/products": [
                        {"fail": True, "volume_factor": 1.0, "partitions": ["2026-12-01"]},
                        {"volume_factor": 0.35, "partitions": ["2026-12-04"]},
                    ],
                }
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("RETAILFEED_FAULTS_FILE", str(faults_file))
    fault = retailfeed_faults.asset_fault("retail/acme/products", partition)
    assert {"fail": fault.fail, "volume_factor": fault.volume_factor} == expected
