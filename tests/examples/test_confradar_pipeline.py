"""The ConfRadar example pipeline: fast unit tests, then real runs on a real Dagster webserver."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.dagster import (
    CONFRADAR_DIR,
    CONFRADAR_ENV_VARS,
    GRAPHQL_DOCUMENTS,
    DagsterDaemon,
    DagsterServer,
    WebhookRecorder,
)

if str(CONFRADAR_DIR) not in sys.path:
    sys.path.insert(0, str(CONFRADAR_DIR))

from confradar import faults, records, store
from confradar.alerting import build_failure_payload, post_json

SCRAPERS = tuple(records.SOURCES)
ALL_ASSETS = (*SCRAPERS, records.STORE_ASSET)

ASSET_MATERIALIZATIONS_QUERY = """
query AssetMaterializations($keys: [AssetKeyInput!], $limit: Int) {
  assetsOrError(assetKeys: $keys) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        assetMaterializations(limit: $limit) {
          runId
          stepKey
          metadataEntries {
            __typename
            label
            ... on IntMetadataEntry { intValue intRepr }
            ... on TextMetadataEntry { text }
            ... on JsonMetadataEntry { jsonString }
            ... on PathMetadataEntry { path }
          }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

CHECK_EXECUTIONS_QUERY = """
query CheckExecutions($key: AssetKeyInput!, $check: String!, $limit: Int!) {
  assetCheckExecutions(assetKey: $key, checkName: $check, limit: $limit) {
    id runId status stepKey
    evaluation {
      success severity description
      metadataEntries { label ... on IntMetadataEntry { intValue } }
    }
  }
}
"""

RUN_STEPS_QUERY = """
query RunSteps($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { stepStats { stepKey status } }
    ... on PythonError { message }
  }
}
"""

INSTIGATORS_QUERY = """
query Instigators($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    __typename
    ... on Schedules {
      results { name cronSchedule executionTimezone pipelineName scheduleState { status } }
    }
    ... on PythonError { message }
  }
  sensorsOrError(repositorySelector: $repo) {
    __typename
    ... on Sensors { results { name sensorType minIntervalSeconds sensorState { status } } }
    ... on PythonError { message }
  }
}
"""


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Unit tests see no fault or webhook variables from the caller's shell."""
    for var in (*CONFRADAR_ENV_VARS, "DAGSTER_HOME", "CONFRADAR_DB"):
        monkeypatch.delenv(var, raising=False)
    faults_file = tmp_path / "faults.json"
    monkeypatch.setenv(faults.FAULTS_FILE_ENV, str(faults_file))
    return faults_file


def _metadata(entries: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in entries:
        kind = entry["__typename"]
        if kind == "IntMetadataEntry":
            out[entry["label"]] = int(entry["intRepr"])
        elif kind == "TextMetadataEntry":
            out[entry["label"]] = entry["text"]
        elif kind == "JsonMetadataEntry":
            out[entry["label"]] = json.loads(entry["jsonString"])
        elif kind == "PathMetadataEntry":
            out[entry["label"]] = entry["path"]
    return out


def _materializations(server: DagsterServer, run_id: str) -> dict[str, dict[str, Any]]:
    """Metadata of each asset materialized by ``run_id``, keyed by asset name."""
    keys = [{"path": [name]} for name in ALL_ASSETS]
    data = server.data(ASSET_MATERIALIZATIONS_QUERY, {"keys": keys, "limit": 20})
    assets = data["assetsOrError"]
    assert assets["__typename"] == "AssetConnection", assets
    found: dict[str, dict[str, Any]] = {}
    for node in assets["nodes"]:
        for mat in node["assetMaterializations"]:
            if mat["runId"] == run_id:
                found[node["key"]["path"][-1]] = _metadata(mat["metadataEntries"])
    return found


def _check_execution(server: DagsterServer, asset: str, check: str, run_id: str) -> dict[str, Any]:
    variables = {"key": {"path": [asset]}, "check": check, "limit": 10}
    executions = server.data(CHECK_EXECUTIONS_QUERY, variables)["assetCheckExecutions"]
    matching = [e for e in executions if e["runId"] == run_id]
    assert matching, f"no execution of {asset}/{check} for run {run_id}: {executions}"
    return dict(matching[0])


@pytest.fixture
def server(dagster_webserver: DagsterServer) -> Iterator[DagsterServer]:
    """The shared webserver, with its faults file cleared again after the test."""
    dagster_webserver.clear_faults()
    try:
        yield dagster_webserver
    finally:
        dagster_webserver.clear_faults()


# --- fault parsing (no server) -------------------------------------------------------------


def test_faults_from_file_and_env_merge(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text(
        json.dumps(
            {
                "elra_conferences": {"fail": True, "message": "HTTP 502 from elra.info"},
                "acl_web_conferences": {"count_factor": 0.5},
                "*": {"delay_s": 0.5},
            }
        )
    )
    monkeypatch.setenv("CONFRADAR_LOW_COUNT", "acl_web_conferences")
    monkeypatch.setenv("CONFRADAR_SLOW", "elra_conferences:2.5")
    monkeypatch.setenv("CONFRADAR_DUPLICATES", "wikicfp_conferences:4")
    monkeypatch.setenv("CONFRADAR_FAIL", "chairing_tool_conferences, store_conferences")

    plan = faults.load_plan()

    assert plan.warnings == []
    elra = plan.for_asset("elra_conferences")
    assert (elra.fail, elra.message, elra.delay_s) == (True, "HTTP 502 from elra.info", 2.5)
    acl = plan.for_asset("acl_web_conferences")
    assert acl.count_factor == faults.DEFAULT_LOW_COUNT_FACTOR  # env wins over the file
    assert acl.delay_s == 0.5  # inherited from "*"
    assert plan.for_asset("wikicfp_conferences").duplicates == 4
    assert plan.for_asset("chairing_tool_conferences").fail
    assert plan.for_asset("store_conferences").fail
    assert not plan.for_asset("ai_deadlines_conferences").fail


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2, 3]",
        '{"elra_conferences": "yes please"}',
        '{"elra_conferences": {"fail": "maybe", "count_factor": "lots", "bogus": 1}}',
        '{"no_such_scraper": {"fail": true}}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_faults_file_is_tolerated(clean_env: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        clean_env.write_bytes(content)
    else:
        clean_env.write_text(content)

    plan = faults.load_plan()

    assert plan.warnings, "a bad faults file must produce a warning"
    for name in ALL_ASSETS:
        assert not plan.for_asset(name).active


def test_missing_or_empty_faults_file_is_healthy(clean_env: Path) -> None:
    assert not clean_env.exists()
    plan = faults.load_plan()
    assert plan.warnings == [] and not plan.for_asset("elra_conferences").active
    clean_env.write_text("  \n")
    assert faults.load_plan().warnings == []


def test_malformed_env_entries_warn(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFRADAR_SLOW", "elra_conferences:soon,nope:3")
    monkeypatch.setenv("CONFRADAR_DUPLICATES", "wikicfp_conferences:-2")
    plan = faults.load_plan()
    assert len(plan.warnings) == 3, plan.warnings
    assert not plan.for_asset("elra_conferences").active
    assert not plan.for_asset("wikicfp_conferences").active


def test_faults_file_defaults_to_dagster_home(tmp_path: Path) -> None:
    env = {"DAGSTER_HOME": str(tmp_path)}
    assert faults.faults_file_path(env) == tmp_path / "confradar_faults.json"
    assert faults.faults_file_path({}) is None
    explicit = {"DAGSTER_HOME": str(tmp_path), faults.FAULTS_FILE_ENV: "/x/f.json"}
    assert faults.faults_file_path(explicit) == Path("/x/f.json")


def test_injected_errors_are_realistic() -> None:
    slept: list[float] = []
    with pytest.raises(ConnectionError, match=r"HTTP 503 Service Unavailable from https://www\."):
        faults.apply_step_faults(
            "elra_conferences", faults.AssetFaults(fail=True, delay_s=1.5), sleep=slept.append
        )
    assert slept == [1.5]
    with pytest.raises(TimeoutError, match=r"chairingtool\.com"):
        faults.apply_step_faults("chairing_tool_conferences", faults.AssetFaults(fail=True))
    custom = faults.AssetFaults(fail=True, message="custom outage", error_type="RuntimeError")
    error = faults.build_error("wikicfp_conferences", custom)
    assert isinstance(error, RuntimeError) and str(error) == "custom outage"
    faults.apply_step_faults("elra_conferences", faults.AssetFaults())  # healthy: no raise


def test_faults_cli_set_show_clear(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFRADAR_")}
    env["PYTHONPATH"] = str(CONFRADAR_DIR)
    cli = [sys.executable, "-m", "confradar.faults", "--file", str(path)]
    subprocess.run([*cli, "set", "elra_conferences", "--fail"], check=True, env=env)
    assert faults.main(["--file", str(path), "set", "acl_web_conferences", "--low-count"]) == 0
    assert (
        faults.main(["--file", str(path), "set", "wikicfp_conferences", "--duplicates", "3"]) == 0
    )
    assert json.loads(path.read_text()) == {
        "acl_web_conferences": {"count_factor": faults.DEFAULT_LOW_COUNT_FACTOR},
        "elra_conferences": {"fail": True},
        "wikicfp_conferences": {"duplicates": 3},
    }
    shown = subprocess.run([*cli, "show"], check=True, env=env, capture_output=True, text=True)
    assert "elra_conferences: fail=True" in shown.stdout
    assert faults.main(["--file", str(path), "clear", "elra_conferences"]) == 0
    assert set(json.loads(path.read_text())) == {"acl_web_conferences", "wikicfp_conferences"}
    assert faults.main(["--file", str(path), "clear"]) == 0
    assert json.loads(path.read_text()) == {}
    assert faults.main(["--file", str(path), "set", "nope", "--fail"]) == 2


# --- synthetic records and storage (no server) ---------------------------------------------


@pytest.mark.parametrize("source", SCRAPERS)
def test_generated_records_look_like_the_source(source: str) -> None:
    spec = records.SOURCES[source]
    recs = records.generate_records(source, rng=random.Random(7))

    assert abs(len(recs) - spec.typical_count) <= spec.typical_count * spec.noise + 1
    assert len(recs) >= spec.min_count
    assert all(records.missing_required(r) == [] for r in recs)
    assert {r["source"] for r in recs} == {spec.domain}
    keys = [records.natural_key(r) for r in recs]
    assert len(set(keys)) == len(keys), "a healthy source lists each edition once"
    for r in recs:
        assert r["submission_deadline"][:10] < r["start_date"] <= r["end_date"]
        assert r["url"].startswith("https://") and r["topics"]
    if spec.fields:
        assert {r["field"] for r in recs} <= set(spec.fields)
    low = records.generate_records(source, rng=random.Random(7), count_factor=0.05)
    assert len(low) < spec.min_count


def test_counts_vary_between_runs() -> None:
    counts = {len(records.generate_records("wikicfp_conferences")) for _ in range(5)}
    assert len(counts) > 1


def test_record_faults_add_duplicates_and_gaps() -> None:
    recs = records.generate_records("acl_web_conferences", rng=random.Random(1))
    broken = faults.apply_record_faults(
        recs, faults.AssetFaults(duplicates=6, missing_fields=4), rng=random.Random(2)
    )
    assert len(broken) == len(recs) + 6
    keys = [records.natural_key(r) for r in broken]
    assert len(keys) - len(set(keys)) == 6
    incomplete = [r for r in broken if records.missing_required(r)]
    assert 1 <= len(incomplete) <= 4  # a duplicate may share a blanked record
    assert all(records.missing_required(r) == [] for r in recs), "input left untouched"


def test_store_upserts_by_natural_key(tmp_path: Path) -> None:
    db = tmp_path / "confradar.sqlite3"
    rng = random.Random(3)
    batches = {name: records.generate_records(name, rng=rng) for name in SCRAPERS}
    total = sum(len(b) for b in batches.values())

    first = store.store_batches(batches, db)
    assert first.total_scraped == total
    assert first.new_conferences == first.distinct_conferences == store.count_rows(db)
    assert first.distinct_conferences < total, "sources overlap and are merged"
    assert (first.updated_conferences, first.duplicates) == (0, 0)

    second = store.store_batches(batches, db)
    assert (second.new_conferences, second.updated_conferences) == (0, 0)
    assert second.unchanged_conferences == first.distinct_conferences

    changed = dict(batches)
    # aclweb.org has the highest priority, so its version of an edition is the one stored.
    edited = dict(changed["acl_web_conferences"][0], city="Reykjavik")
    changed["acl_web_conferences"] = [edited, *changed["acl_web_conferences"][1:]]
    changed["wikicfp_conferences"] = [
        *batches["wikicfp_conferences"],
        batches["wikicfp_conferences"][0],
    ]
    third = store.store_batches(changed, db)
    assert third.updated_conferences == 1
    assert third.duplicates == 1 and third.duplicates_by_source == {"wikicfp_conferences": 1}
    assert store.count_rows(db) == first.distinct_conferences


def test_store_db_path_from_env(tmp_path: Path) -> None:
    assert store.db_path({"CONFRADAR_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert store.db_path({"DAGSTER_HOME": str(tmp_path)}) == tmp_path / "confradar.sqlite3"
    assert store.db_path({}).name == "confradar.sqlite3"


# --- the failure sensor's webhook (real HTTP on loopback, no server) -----------------------


def test_failure_payload_posts_to_local_http_server() -> None:
    payload = build_failure_payload(
        run_id="r-123",
        job_name="crawl_job",
        error="ConnectionError: HTTP 503 Service Unavailable from https://www.elra.info/en/events/",
        failed_steps=["elra_conferences"],
        failure_event=1_700_000_000.25,
    )
    with WebhookRecorder() as hook:
        before = time.time()
        status, sent = post_json(hook.url, payload, timeout=5)
        after = time.time()
        received = hook.wait_for(lambda r: True, timeout=5)

    assert status == 200
    body = received.json()
    assert received.headers["Content-Type"] == "application/json"
    assert body == sent
    assert body["run_id"] == "r-123" and body["failed_steps"] == ["elra_conferences"]
    assert body["failure_event"] == 1_700_000_000.25
    assert before <= body["sent_at"] <= received.received_at <= after + 1


def test_failure_sensor_posts_for_a_real_failed_run(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Run crawl_job in process with elra failing, then evaluate the sensor on that run."""
    import dagster as dg
    from confradar.alerting import crawl_failure_sensor, notify_failure
    from confradar.definitions import defs

    monkeypatch.setenv("CONFRADAR_DB", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("CONFRADAR_FAIL", "elra_conferences")
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("crawl_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not result.success
        records_ = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        assert len(records_) == 1
        context = dg.build_run_status_sensor_context(
            sensor_name="crawl_failure_sensor",
            dagster_event=records_[0].event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()

        assert notify_failure(context) is None  # no webhook configured: only logs
        with WebhookRecorder() as hook:
            monkeypatch.setenv("CONFRADAR_FAILURE_WEBHOOK_URL", hook.url)
            crawl_failure_sensor(context)
            body = hook.wait_for(lambda r: True, timeout=5).json()

    assert body["run_id"] == result.run_id and body["job_name"] == "crawl_job"
    assert body["failed_steps"] == ["elra_conferences"]
    assert "HTTP 503 Service Unavailable from https://www.elra.info/en/events/" in body["error"]
    assert body["failure_event"] <= body["detected_at"] <= body["sent_at"]


def test_graphql_documents_validate_against_installed_schema() -> None:
    """Catch field or type drift in the queries above without a server."""
    from dagster_graphql.schema import create_schema
    from graphql import parse, validate

    schema = create_schema().graphql_schema
    documents = {
        **GRAPHQL_DOCUMENTS,
        "asset_materializations": ASSET_MATERIALIZATIONS_QUERY,
        "check_executions": CHECK_EXECUTIONS_QUERY,
        "run_steps": RUN_STEPS_QUERY,
        "instigators": INSTIGATORS_QUERY,
    }
    problems = {name: validate(schema, parse(doc)) for name, doc in documents.items()}
    assert {name: [str(e) for e in errs] for name, errs in problems.items() if errs} == {}


# --- against the real webserver ------------------------------------------------------------


@pytest.mark.dagster
def test_crawl_job_succeeds_and_materializes_everything(server: DagsterServer) -> None:
    run_id = server.launch_run("crawl_job", tags={"confops/test": "healthy"})
    run = server.wait_for_run(run_id)

    assert run["status"] == "SUCCESS", server.run_error(run_id)
    assert {"key": "confops/test", "value": "healthy"} in run["tags"]
    mats = _materializations(server, run_id)
    assert set(mats) == set(ALL_ASSETS)
    for name in SCRAPERS:
        spec = records.SOURCES[name]
        assert mats[name]["count"] >= spec.min_count, (name, mats[name])
        assert mats[name]["source"] == spec.domain
        assert isinstance(mats[name]["preview"], list) and mats[name]["preview"]
    stored = mats["store_conferences"]
    assert stored["total_scraped"] == sum(mats[name]["count"] for name in SCRAPERS)
    assert stored["duplicates"] == 0
    assert stored["new_conferences"] + stored["updated_conferences"] <= stored["total_scraped"]
    for name in SCRAPERS:
        for check in ("min_count", "required_fields"):
            assert _check_execution(server, name, check, run_id)["status"] == "SUCCEEDED"
    no_dupes = _check_execution(server, "store_conferences", "no_duplicates", run_id)
    assert no_dupes["status"] == "SUCCEEDED"


@pytest.mark.dagster
def test_schedules_and_sensor_as_deployed(server: DagsterServer) -> None:
    repo = {
        "repositoryLocationName": server.location_name,
        "repositoryName": server.repository_name,
    }
    data = server.data(INSTIGATORS_QUERY, {"repo": repo})
    schedules = {s["name"]: s for s in data["schedulesOrError"]["results"]}
    sensors = {s["name"]: s for s in data["sensorsOrError"]["results"]}

    daily = schedules["daily_crawl_schedule"]
    assert (daily["cronSchedule"], daily["executionTimezone"]) == ("0 2 * * *", "UTC")
    assert daily["pipelineName"] == "crawl_job"
    assert daily["scheduleState"]["status"] == "STOPPED"  # CONFRADAR_SCHEDULES=off
    demo = schedules["demo_crawl_schedule"]
    assert demo["cronSchedule"] == "*/2 * * * *"
    assert demo["scheduleState"]["status"] == "STOPPED"  # CONFRADAR_DEMO unset
    sensor = sensors["crawl_failure_sensor"]
    assert sensor["sensorType"] == "RUN_STATUS" and sensor["minIntervalSeconds"] == 5
    assert sensor["sensorState"]["status"] == "RUNNING"


@pytest.mark.dagster
def test_injected_failure_fails_the_run_with_a_realistic_error(server: DagsterServer) -> None:
    server.set_faults({"elra_conferences": {"fail": True}})
    run_id = server.launch_run("crawl_job")
    run = server.wait_for_run(run_id)

    assert run["status"] == "FAILURE"
    assert {"key": "dagster/failure_reason", "value": "STEP_FAILURE"} in run["tags"]
    error = server.run_error(run_id)
    assert 'step "elra_conferences"' in error
    assert (
        "ConnectionError: HTTP 503 Service Unavailable from https://www.elra.info/en/events/"
        in error
    )
    steps = server.data(RUN_STEPS_QUERY, {"runId": run_id})["runOrError"]["stepStats"]
    status = {s["stepKey"]: s["status"] for s in steps}
    assert status["elra_conferences"] == "FAILURE"
    assert status["wikicfp_conferences"] == "SUCCESS"
    assert "store_conferences" not in status  # skipped steps are not listed
    execution = _check_execution(server, "elra_conferences", "min_count", run_id)
    assert execution["status"] == "EXECUTION_FAILED"


@pytest.mark.dagster
def test_low_count_fails_the_min_count_check_with_error_severity(server: DagsterServer) -> None:
    server.set_faults(
        {
            "acl_web_conferences": {"count_factor": 0.05},
            "ai_deadlines_conferences": {"missing_fields": 3},
        }
    )
    run_id = server.launch_run("crawl_job")
    run = server.wait_for_run(run_id)

    assert run["status"] == "SUCCESS", "checks are not blocking: the crawl still completes"
    low = _check_execution(server, "acl_web_conferences", "min_count", run_id)
    assert low["status"] == "FAILED"
    assert low["evaluation"]["success"] is False
    assert low["evaluation"]["severity"] == "ERROR"
    values = {e["label"]: e.get("intValue") for e in low["evaluation"]["metadataEntries"]}
    assert values["count"] < values["threshold"]
    fields_ok = _check_execution(server, "acl_web_conferences", "required_fields", run_id)
    assert fields_ok["status"] == "SUCCEEDED"
    gaps = _check_execution(server, "ai_deadlines_conferences", "required_fields", run_id)
    assert gaps["status"] == "FAILED" and gaps["evaluation"]["severity"] == "WARN"
    mats = _materializations(server, run_id)
    assert mats["acl_web_conferences"]["count"] < records.SOURCES["acl_web_conferences"].min_count


@pytest.mark.dagster
def test_duplicates_are_counted_by_store_conferences(server: DagsterServer) -> None:
    server.set_faults({"wikicfp_conferences": {"duplicates": 12}})
    run_id = server.launch_run("crawl_job")
    run = server.wait_for_run(run_id)

    assert run["status"] == "SUCCESS", server.run_error(run_id)
    stored = _materializations(server, run_id)["store_conferences"]
    assert stored["duplicates"] == 12
    check = _check_execution(server, "store_conferences", "no_duplicates", run_id)
    assert check["status"] == "FAILED" and check["evaluation"]["severity"] == "WARN"


@pytest.mark.dagster
def test_failure_sensor_alerts_through_the_daemon(
    server: DagsterServer, dagster_daemon: DagsterDaemon
) -> None:
    """Dagster's own alerting path: daemon -> run_failure_sensor -> webhook, with timestamps."""
    dagster_daemon.wait_for_sensor_tick("crawl_failure_sensor")
    message = "HTTP 500 Internal Server Error from http://www.wikicfp.com/cfp/allcfp?page=3"
    server.set_faults({"wikicfp_conferences": {"fail": True, "message": message}})
    run_id = server.launch_run("crawl_job", tags={"confops/test": "sensor"})
    run = server.wait_for_run(run_id)
    assert run["status"] == "FAILURE"

    received = dagster_daemon.webhook.wait_for(
        lambda r: r.json().get("run_id") == run_id, timeout=90
    )
    body = received.json()
    assert body["failed_steps"] == ["wikicfp_conferences"]
    assert body["error"] == f"ConnectionError: {message}"
    assert body["tags"].get("confops/test") == "sensor"
    assert body["failure_event"] == pytest.approx(run["endTime"], abs=1.0)
    assert body["failure_event"] <= body["detected_at"] <= body["sent_at"] <= received.received_at
    print(  # visible with -s: Dagster's own alert latency, the baseline the portal is held to
        f"sensor alert: {body['sent_at'] - body['failure_event']:.2f}s after RUN_FAILURE "
        f"(daemon up {dagster_daemon.startup_seconds:.1f}s, "
        f"webserver up {server.startup_seconds:.1f}s)"
    )
