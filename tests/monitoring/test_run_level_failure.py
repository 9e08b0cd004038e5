"""Every failure is somebody's failure: a run that fails outside any step fails every asset it
planned, with the run-level error; several failed steps each keep their own error. The payloads
are shaped as Dagster 1.13's RunDetails answer (monitoring/dagster/queries/run_details.graphql)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from monitoring import sync
from monitoring.choices import RunAssetOutcome, RunStatus, SourceKind
from monitoring.dagster import parse
from monitoring.models import Deployment, Run, RunAsset, Source
from tests.monitoring.test_sync import asset, discovery, run_record

pytestmark = pytest.mark.django_db

DEQUEUE = (
    "Caught an unrecoverable error while dequeuing the run. Marking the run as failed and"
    " dropping it from the queue"
)
OUTSIDE = "This run has been marked as failed from outside the execution context."


def error(class_name: str, message: str) -> dict[str, Any]:
    return {"className": class_name, "message": message, "cause": None}


def payload(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "runOrError": {"__typename": "Run", "runId": "r1", "status": "FAILURE", "stepStats": []},
        "logsForRun": {
            "__typename": "EventConnection",
            "cursor": "9",
            "hasMore": False,
            "events": [{"__typename": "RunEnqueuedEvent"}, *events],
        },
    }


def engine_event(message: str, err: dict[str, Any] | None, step: str | None = None) -> dict:
    return {
        "__typename": "EngineEvent",
        "stepKey": step,
        "timestamp": "1795344412000",
        "message": message,
        "error": err,
    }


def run_failure(message: str, err: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "__typename": "RunFailureEvent",
        "timestamp": "1795344412600",
        "message": message,
        "error": err,
    }


def step_failure(step: str, message: str) -> dict[str, Any]:
    return {
        "__typename": "ExecutionStepFailureEvent",
        "stepKey": step,
        "timestamp": "1795344412300",
        "error": {
            "className": "DagsterExecutionStepExecutionError",
            "message": f"Error occurred while executing op {step}",
            "cause": {"className": "HTTPError", "message": message},
        },
    }


@pytest.fixture
def deployment() -> Deployment:
    deployment = Deployment.objects.create(name="prod", graphql_url="http://d/graphql")
    sync.apply_discovery(deployment, discovery(asset("a"), asset("b"), asset("c")), timezone.now())
    Source.objects.create(deployment=deployment, kind=SourceKind.JOB, key="crawl_job", slug="job")
    return deployment


def settle(deployment: Deployment, data: dict[str, Any]) -> Run:
    sync.apply_runs(deployment, [run_record("r1", "FAILURE")], 110.0)
    run = Run.objects.get(run_id="r1")
    sync.apply_run_details(run, parse.run_details(data))
    run.refresh_from_db()
    return run


def links(run: Run) -> dict[str, tuple[str, str, str]]:
    rows = RunAsset.objects.filter(run=run).select_related("run", "source")
    return {link.source.key: (link.outcome, link.error, link.failed_step) for link in rows}


def test_a_run_dropped_from_the_queue_fails_every_planned_asset_with_the_engine_error(
    deployment: Deployment,
) -> None:
    unreachable = error("DagsterUserCodeUnreachableError", "Could not reach user code server.")
    run = settle(deployment, payload(engine_event(DEQUEUE, unreachable), run_failure(OUTSIDE)))
    said = f"Could not reach user code server.\n{DEQUEUE}"
    assert links(run) == {
        key: (RunAssetOutcome.FAILED, said, "") for key in ("a", "b", "c", "crawl_job")
    }
    assert (run.error_class, run.error_message) == ("DagsterUserCodeUnreachableError", said)
    assert Source.objects.get(key="a").last_status == RunStatus.FAILURE


def test_the_run_failure_event_s_own_error_wins_over_an_engine_error(
    deployment: Deployment,
) -> None:
    init = error("DagsterResourceFunctionError", "Error executing resource_fn on resource 'api'")
    run = settle(
        deployment,
        payload(
            engine_event("Dequeue retry", error("GrpcError", "UNAVAILABLE")),
            run_failure('Execution of run for "crawl_job" failed.', init),
        ),
    )
    assert {error for _, error, _ in links(run).values()} == {
        "Error executing resource_fn on resource 'api'"
    }


def test_a_run_failed_by_run_monitoring_carries_its_message(deployment: Deployment) -> None:
    said = "Run timed out due to taking longer than 600 seconds."
    run = settle(deployment, payload(run_failure(said)))
    assert links(run)["b"] == (RunAssetOutcome.FAILED, said, "")


def test_two_failed_steps_give_each_asset_its_own_error(deployment: Deployment) -> None:
    run = settle(
        deployment,
        payload(
            step_failure("a", "checkers: 502"),
            step_failure("b", "picknpay: 404"),
            run_failure('Execution of run for "crawl_job" failed. Steps failed: a, b.'),
        ),
    )
    assert links(run) == {
        "a": (RunAssetOutcome.FAILED, "checkers: 502", "a"),
        "b": (RunAssetOutcome.FAILED, "picknpay: 404", "b"),
        "c": (RunAssetOutcome.SKIPPED, "checkers: 502", ""),
        "crawl_job": (RunAssetOutcome.FAILED, "checkers: 502", "a"),
    }
    assert (run.error_message, run.failed_step) == ("checkers: 502", "a")
