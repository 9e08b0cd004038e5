"""record_pushed_run stores one report of a job outside Dagster, once, with `now` injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from monitoring.choices import AssetEventKind, RunAssetOutcome, RunOrigin, RunStatus, SourceKind
from monitoring.models import AssetEvent, Deployment, Run, RunAsset, Source
from monitoring.push import (
    InvalidReport,
    PushedRunReport,
    RunConflict,
    UnknownSource,
    find_pushed_source,
    record_pushed_run,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
AT = "2026-11-01T02:00:00Z"


@pytest.fixture
def source() -> Source:
    return Source.objects.create(kind=SourceKind.PUSHED, key="temporal_ingest", slug="temporal")


def report(**fields: Any) -> PushedRunReport:
    body: dict[str, Any] = {"at": AT, "status": "success"}
    body.update(fields)
    return PushedRunReport.model_validate({k: v for k, v in body.items() if v is not None})


def test_a_success_is_stored_as_a_finished_run_with_its_metrics(source: Source) -> None:
    run, created = record_pushed_run(
        source, report(run_id="r1", duration_s=42.5, metrics={"count": 1234}), NOW
    )

    assert created
    run.refresh_from_db()
    assert (run.origin, run.status, run.run_id) == (RunOrigin.PUSHED, RunStatus.SUCCESS, "r1")
    assert run.pushed_source == source and run.deployment is None
    assert run.job_name == "temporal_ingest" and run.launch_reason == "pushed"
    assert run.details_fetched
    assert run.ended_at == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert run.started_at == run.ended_at - timedelta(seconds=42.5)
    assert run.duration_s == 42.5
    assert RunAsset.objects.get(run=run).outcome == RunAssetOutcome.MATERIALIZED
    event = AssetEvent.objects.get(run=run)
    assert (event.kind, event.source, event.dagster_run_id) == (
        AssetEventKind.MATERIALIZATION,
        source,
        "r1",
    )
    assert event.metrics == {"count": 1234} and event.timestamp == run.ended_at


def test_the_source_remembers_the_latest_success_and_its_metrics(source: Source) -> None:
    record_pushed_run(source, report(metrics={"count": 7}), NOW)

    source.refresh_from_db()
    assert source.last_status == RunStatus.SUCCESS
    assert source.last_success_at == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert source.last_metrics == {"count": 7}


def test_integer_metrics_stay_integers(source: Source) -> None:
    run, _ = record_pushed_run(source, report(metrics={"count": 3, "ratio": 0.5}), NOW)

    metrics = AssetEvent.objects.get(run=run).metrics
    assert metrics == {"count": 3, "ratio": 0.5} and isinstance(metrics["count"], int)


def test_a_given_start_time_wins_over_the_duration(source: Source) -> None:
    run, _ = record_pushed_run(
        source, report(started_at="2026-11-01T01:00:00+00:00", duration_s=5), NOW
    )

    assert run.started_at == datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    assert run.duration_s == 5


def test_a_failure_keeps_its_error_and_is_the_latest_failure(source: Source) -> None:
    run, _ = record_pushed_run(source, report(status="failure", error="HTTP 503 from elra"), NOW)

    assert run.status == RunStatus.FAILURE and run.error_message == "HTTP 503 from elra"
    assert RunAsset.objects.get(run=run).outcome == RunAssetOutcome.FAILED
    assert not AssetEvent.objects.exists()
    source.refresh_from_db()
    assert source.last_failure_at == run.ended_at and source.last_success_at is None


def test_a_failure_with_metrics_keeps_them_as_one_event(source: Source) -> None:
    run, _ = record_pushed_run(source, report(status="failure", metrics={"count": 0}), NOW)

    assert list(AssetEvent.objects.values_list("run", "metrics")) == [(run.pk, {"count": 0})]


def test_the_same_run_id_reported_twice_is_stored_once(source: Source) -> None:
    first, _ = record_pushed_run(source, report(run_id="r1", metrics={"count": 5}), NOW)
    again, created = record_pushed_run(source, report(run_id="r1", metrics={"count": 5}), NOW)

    assert not created and again.pk == first.pk
    assert Run.objects.count() == 1
    assert RunAsset.objects.count() == 1 and AssetEvent.objects.count() == 1


def test_without_a_run_id_every_report_is_a_new_run(source: Source) -> None:
    first, _ = record_pushed_run(source, report(), NOW)
    second, created = record_pushed_run(source, report(), NOW)

    assert created and first.run_id != second.run_id
    assert len(first.run_id) == 32


def test_a_start_leaves_a_started_run_that_is_planned(source: Source) -> None:
    run, created = record_pushed_run(source, report(event="start", status=None, run_id="r1"), NOW)

    assert created and run.status == RunStatus.STARTED
    assert run.started_at == datetime(2026, 11, 1, 2, 0, tzinfo=UTC) and run.ended_at is None
    assert RunAsset.objects.get(run=run).outcome == RunAssetOutcome.PLANNED
    assert not AssetEvent.objects.exists()
    source.refresh_from_db()
    assert source.last_status == RunStatus.STARTED and source.last_success_at is None


def test_a_success_completes_the_started_run(source: Source) -> None:
    started, _ = record_pushed_run(source, report(event="start", status=None, run_id="r1"), NOW)
    done, created = record_pushed_run(
        source,
        report(event="success", status=None, run_id="r1", at="2026-11-01T02:10:00Z"),
        NOW,
    )

    assert not created and done.pk == started.pk
    done.refresh_from_db()
    assert done.status == RunStatus.SUCCESS
    assert done.started_at == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert done.duration_s == 600
    assert RunAsset.objects.get(run=done).outcome == RunAssetOutcome.MATERIALIZED
    assert Run.objects.count() == 1 and AssetEvent.objects.count() == 1


def test_a_repeated_start_with_a_new_time_moves_the_start(source: Source) -> None:
    record_pushed_run(source, report(event="start", status=None, run_id="r1"), NOW)
    run, created = record_pushed_run(
        source, report(event="start", status=None, run_id="r1", at="2026-11-01T02:30:00Z"), NOW
    )

    run.refresh_from_db()
    assert not created and run.status == RunStatus.STARTED
    assert run.started_at == datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    assert Run.objects.count() == RunAsset.objects.count() == 1


def test_a_start_that_arrives_after_the_end_is_ignored(source: Source) -> None:
    record_pushed_run(source, report(run_id="r1", at="2026-11-01T02:10:00Z"), NOW)
    run, created = record_pushed_run(source, report(event="start", status=None, run_id="r1"), NOW)

    run.refresh_from_db()
    assert not created and run.status == RunStatus.SUCCESS
    assert RunAsset.objects.get(run=run).outcome == RunAssetOutcome.MATERIALIZED
    source.refresh_from_db()
    assert source.last_status == RunStatus.SUCCESS


def test_a_finished_run_cannot_change_its_outcome(source: Source) -> None:
    record_pushed_run(source, report(run_id="r1", status="failure", error="boom"), NOW)

    with pytest.raises(RunConflict, match="already finished with failure"):
        record_pushed_run(source, report(run_id="r1", metrics={"count": 1}), NOW)

    run = Run.objects.get()
    assert run.status == RunStatus.FAILURE and run.error_message == "boom"
    assert not AssetEvent.objects.exists()
    source.refresh_from_db()
    assert source.last_success_at is None


def test_an_older_run_does_not_replace_the_latest_state(source: Source) -> None:
    record_pushed_run(source, report(metrics={"count": 9}), NOW)
    record_pushed_run(source, report(status="failure", at="2026-11-01T01:00:00Z"), NOW)

    source.refresh_from_db()
    assert source.last_status == RunStatus.SUCCESS and source.last_metrics == {"count": 9}
    assert source.last_failure_at == datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def test_a_clock_a_little_ahead_is_accepted(source: Source) -> None:
    at = (NOW + timedelta(minutes=4)).isoformat()

    run, _ = record_pushed_run(source, report(at=at), NOW)

    assert run.ended_at == NOW + timedelta(minutes=4)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"at": "2026-11-01T03:06:00Z"}, "at", "more than 5 minutes in the future"),
        ({"status": None}, "status", "required"),
        ({"event": "failure"}, "status", "contradicts event failure"),
        ({"error": "boom"}, "error", "only accepted when the run failed"),
        ({"event": "start", "status": None, "metrics": {"n": 1}}, "metrics", "not accepted"),
        ({"event": "start"}, "status", "not accepted with event start"),
        ({"started_at": "2026-11-01T02:00:01Z"}, "started_at", "must not be after at"),
        ({"at": "1969-12-31T23:59:59Z"}, "at", "before 1970"),
    ],
)
def test_an_inconsistent_report_stores_nothing(
    source: Source, fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidReport) as excinfo:
        record_pushed_run(source, report(**fields), NOW)

    assert message in excinfo.value.fields[field]
    assert not Run.objects.exists() and not RunAsset.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at": "2026-11-01T02:00:00"}, "needs a time zone"),
        ({"at": 1_790_000_000}, "ISO 8601"),
        ({"metrics": {"count": True}}, "must be a number"),
        ({"metrics": {"count": "12"}}, "must be a number"),
        ({"metrics": {"count": float("nan")}}, "finite"),
        ({"metrics": {f"m{i}": i for i in range(51)}}, "at most 50"),
        ({"duration_s": float("inf")}, "finite"),
        ({"run_id": "x" * 101}, "1 to 100 characters"),
        ({"error": "e" * 10_001}, "at most 10,000 characters"),
    ],
)
def test_a_malformed_field_does_not_make_a_report(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        report(**fields)


def test_only_pushed_sources_are_found_by_slug(source: Source) -> None:
    deployment = Deployment.objects.create(name="prod", graphql_url="https://d/graphql")
    Source.objects.create(deployment=deployment, kind=SourceKind.ASSET, key="a", slug="polled")

    assert find_pushed_source("temporal") == source
    with pytest.raises(UnknownSource, match="observed in Dagster"):
        find_pushed_source("polled")
    with pytest.raises(UnknownSource, match="no source with slug 'nope'"):
        find_pushed_source("nope")


def test_a_stored_report_names_its_source_to_the_alert_engine_after_commit(
    source: Source, django_capture_on_commit_callbacks: Any
) -> None:
    from monitoring import signals

    received: list[set[int]] = []

    def listener(source_ids: set[int], **_: object) -> None:
        received.append(source_ids)

    signals.sources_touched.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            record_pushed_run(source, report(run_id="r9"), NOW)
        assert received == []  # nothing is announced before the transaction commits
        for callback in callbacks:
            callback()
    finally:
        signals.sources_touched.disconnect(listener)
    assert received == [{source.pk}]


@pytest.mark.parametrize(
    ("started_at", "message"),
    [
        ("0001-01-01T00:30:00+01:00", "must not be before 1970"),
        ("2020-01-01T00:00:00Z", "makes the run longer than"),
    ],
)
def test_an_absurd_start_is_refused_not_a_server_error(
    source: Source, started_at: str, message: str
) -> None:
    with pytest.raises(InvalidReport) as caught:
        record_pushed_run(source, report(started_at=started_at), NOW)
    assert message in caught.value.fields["started_at"]
    assert not Run.objects.exists()
