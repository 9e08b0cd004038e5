"""Re-executing a failed run: the mutation sent, the new run id back, and every refusal turned
into a typed error an operator can read (shapes from shared/dagster-graphql.md section 4f)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitoring.dagster.actions import ReexecutionRefused, reexecute_from_failure
from monitoring.dagster.errors import DagsterErrorUnion, DagsterUnreachable
from monitoring.models import Deployment
from tests.fixtures.dagster import free_port
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db


def deployment_at(url: str, **fields: Any) -> Deployment:
    return Deployment.objects.create(name="confradar", graphql_url=url, **fields)


def answer(result: dict[str, Any]) -> str:
    return json.dumps({"data": {"launchRunReexecution": result}})


def test_it_sends_from_failure_with_the_tags_and_returns_the_new_run(
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(
        200, answer({"__typename": "LaunchRunSuccess", "run": {"runId": "child-1"}})
    )
    dep = deployment_at(
        f"{http_responder.url}/graphql",
        auth_header_name="Authorization",
        auth_header_value="Bearer t0k",
    )
    assert reexecute_from_failure(dep, "parent-1", tags={"confops/alert_id": "7"}) == "child-1"
    sent = http_responder.requests[0]
    assert sent.headers["Authorization"] == "Bearer t0k"
    body = sent.json()
    assert "launchRunReexecution" in body["query"]
    assert body["variables"] == {
        "parentRunId": "parent-1",
        "strategy": "FROM_FAILURE",
        "extraTags": [{"key": "confops/alert_id", "value": "7"}],
    }


@pytest.mark.parametrize(
    ("status", "result", "typename", "readable"),
    [
        (
            500,
            {
                "__typename": "PythonError",
                "message": "dagster._check.CheckError: Expected non-None value: "
                "Could not find parent run with id: parent-1",
            },
            "PythonError",
            "Dagster does not know run parent-1",
        ),
        (
            500,
            {
                "__typename": "PythonError",
                "message": "DagsterInvariantViolationError: Cannot reexecute from failure a run "
                "that is not failed or canceled",
            },
            "PythonError",
            "Run parent-1 did not fail",
        ),
        (
            200,
            {
                "__typename": "RunConfigValidationInvalid",
                "pipelineName": "crawl_job",
                "errors": [{"message": "Missing required config entry", "reason": "MISSING"}],
            },
            "RunConfigValidationInvalid",
            "rejected the run's configuration: Missing required config entry",
        ),
        (
            200,
            {"__typename": "InvalidStepError", "invalidStepKey": "elra_conferences"},
            "InvalidStepError",
            "Step elra_conferences of run parent-1 is no longer in the job",
        ),
        (
            200,
            {"__typename": "PipelineNotFoundError", "message": "Could not find Pipeline crawl"},
            "PipelineNotFoundError",
            "no longer in Dagster's workspace",
        ),
        (
            200,
            {"__typename": "UnauthorizedError", "message": "Viewers may not launch runs"},
            "UnauthorizedError",
            "does not allow confops to launch runs: Viewers may not launch runs",
        ),
        (
            200,
            {"__typename": "RunConflict", "message": "run exists"},
            "RunConflict",
            "(RunConflict): run exists",
        ),
    ],
)
def test_a_refusal_is_a_typed_readable_error(
    http_responder: HttpResponder,
    status: int,
    result: dict[str, Any],
    typename: str,
    readable: str,
) -> None:
    http_responder.respond(status, answer(result))
    dep = deployment_at(f"{http_responder.url}/graphql")
    with pytest.raises(ReexecutionRefused) as caught:
        reexecute_from_failure(dep, "parent-1")
    assert caught.value.typename == typename
    assert readable in str(caught.value)
    assert isinstance(caught.value, DagsterErrorUnion)


def test_an_unreachable_dagster_says_so() -> None:
    dep = deployment_at(f"http://127.0.0.1:{free_port()}/graphql")
    with pytest.raises(DagsterUnreachable, match="unreachable"):
        reexecute_from_failure(dep, "parent-1")
