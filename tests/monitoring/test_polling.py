"""A poll records its outcome and never raises, and the cursor never passes unstored data.

A local HTTP server plays a broken Dagster (real HTTP, canned answers from
shared/dagster-graphql.md section 4g); the real webserver is covered by test_ingestion_dagster.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from monitoring import polling
from monitoring.models import Deployment, PollRecord, Run
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db
HIGH_WATER_MARK = 1_795_000_000.0


def run_json(run_id: str, update_time: float, status: str = "SUCCESS") -> dict[str, object]:
    return {
        "runId": run_id,
        "jobName": "crawl_job",
        "status": status,
        "creationTime": update_time - 10,
        "startTime": update_time - 9,
        "endTime": update_time,
        "updateTime": update_time,
        "parentRunId": None,
        "rootRunId": None,
        "tags": [{"key": "dagster/schedule_name", "value": "daily_crawl_schedule"}],
        "assetSelection": None,
    }


def poll_answer(runs: list[dict[str, object]], fingerprint_time: float = 1.0) -> str:
    return json.dumps(
        {
            "data": {
                "version": "1.13.27",
                "instance": {"daemonHealth": {"allDaemonStatuses": []}},
                "workspaceOrError": {
                    "__typename": "Workspace",
                    "locationEntries": [
                        {
                            "name": "confradar",
                            "updatedTimestamp": fingerprint_time,
                            "locationOrLoadError": {"__typename": "RepositoryLocation"},
                        }
                    ],
                },
                "runsOrError": {"__typename": "Runs", "results": runs},
            }
        }
    )


@pytest.fixture
def deployment(http_responder: HttpResponder) -> Deployment:
    """Discovered already and ticks just read, so each poll asks only for runs."""
    now = timezone.now()
    deployment = Deployment.objects.create(
        name="confradar",
        graphql_url=f"{http_responder.url}/graphql",
        runs_high_water_mark=HIGH_WATER_MARK,
        discovered_at=now,
        ticks_polled_at=now,
    )
    from monitoring.dagster.parse import LocationState
    from monitoring.sync import workspace_fingerprint

    deployment.workspace_fingerprint = workspace_fingerprint([LocationState("confradar", 1.0, "")])
    deployment.save()
    return deployment


GARBAGE = [
    pytest.param(200, "<html>maintenance</html>", "not JSON", id="html"),
    pytest.param(502, "Bad Gateway", "HTTP 502", id="bad-gateway"),
    pytest.param(200, '{"data": {"version": "1.1', "not JSON", id="truncated-json"),
    pytest.param(
        400,
        '{"data": null, "errors": [{"message": "Cannot query field"}]}',
        "Cannot query",
        id="graphql-errors",
    ),
    pytest.param(
        500,
        '{"data": {"version": "1", "instance": {"daemonHealth": {"allDaemonStatuses": []}}, '
        '"workspaceOrError": {"__typename": "Workspace", "locationEntries": []}, '
        '"runsOrError": {"__typename": "PythonError", "message": "database is locked"}}}',
        "PythonError: database is locked",
        id="python-error-union",
    ),
    pytest.param(200, '{"data": {"version": 7}}', "expected a string", id="wrong-type"),
]


@pytest.mark.parametrize(("status", "body", "expected"), GARBAGE)
def test_garbage_is_recorded_and_the_cursor_stays(
    http_responder: HttpResponder, deployment: Deployment, status: int, body: str, expected: str
) -> None:
    http_responder.respond(
        status, body, content_type="text/html" if "<" in body else "application/json"
    )
    assert polling.poll_deployment(deployment, timezone.now()) is False
    deployment.refresh_from_db()
    assert expected in deployment.last_error
    assert deployment.runs_high_water_mark == HIGH_WATER_MARK
    record = PollRecord.objects.get(deployment=deployment)
    assert record.ok is False and expected in record.error


def test_a_burst_is_paged_and_stored_with_the_cursor(
    http_responder: HttpResponder, deployment: Deployment, settings: object
) -> None:
    settings.DAGSTER_RUNS_PAGE_SIZE = 2  # type: ignore[attr-defined]
    first = [run_json("r5", HIGH_WATER_MARK + 50, "STARTED"), run_json("r4", HIGH_WATER_MARK + 40)]
    http_responder.respond(200, poll_answer(first))
    second = {
        "data": {
            "runsOrError": {"__typename": "Runs", "results": [run_json("r3", HIGH_WATER_MARK + 30)]}
        }
    }
    http_responder.respond(200, json.dumps(second))
    http_responder.default.body = b'{"data": null, "errors": [{"message": "details unavailable"}]}'
    assert polling.poll_deployment(deployment, timezone.now()) is True
    deployment.refresh_from_db()
    assert set(Run.objects.values_list("run_id", flat=True)) == {"r3", "r4", "r5"}
    assert deployment.runs_high_water_mark == HIGH_WATER_MARK + 50
    page_two = json.loads(http_responder.requests[1].body)
    assert page_two["variables"]["cursor"] == "r4"
    assert page_two["variables"]["filter"]["updatedAfter"] == HIGH_WATER_MARK - 30
    # Details could not be fetched: the finished runs wait for the next poll, not lost.
    assert Run.objects.filter(details_fetched=False, status="SUCCESS").count() == 2
    assert deployment.last_poll_stats["run_detail_errors"] == 2


def test_a_broken_second_page_stores_nothing(
    http_responder: HttpResponder, deployment: Deployment, settings: object
) -> None:
    settings.DAGSTER_RUNS_PAGE_SIZE = 2  # type: ignore[attr-defined]
    first = [run_json("r5", HIGH_WATER_MARK + 50), run_json("r4", HIGH_WATER_MARK + 40)]
    http_responder.respond(200, poll_answer(first))
    http_responder.respond(
        200, '{"data": {"runsOrError": {"__typename": "Runs", "results": [{"runId": 1}]}}}'
    )
    assert polling.poll_deployment(deployment, timezone.now()) is False
    deployment.refresh_from_db()
    assert not Run.objects.exists()
    assert deployment.runs_high_water_mark == HIGH_WATER_MARK
    assert "expected a string" in deployment.last_error


def test_failures_back_off_and_a_success_clears_them(
    http_responder: HttpResponder, deployment: Deployment
) -> None:
    now = timezone.now()
    http_responder.default.status = 503
    http_responder.default.body = b"unavailable"
    for _ in range(3):
        polling.poll_deployment(deployment, now)
    deployment.refresh_from_db()
    assert deployment.consecutive_failures == 3 and deployment.failing_since == now
    assert deployment.next_poll_at == now + timedelta(seconds=4 * deployment.poll_interval_seconds)
    http_responder.default.status = 200
    http_responder.default.body = poll_answer([]).encode()
    assert polling.poll_deployment(deployment, now + timedelta(seconds=30)) is True
    deployment.refresh_from_db()
    assert deployment.consecutive_failures == 0 and deployment.failing_since is None
    assert deployment.is_reachable and deployment.dagster_version == "1.13.27"


def test_a_poll_already_running_is_not_doubled(
    http_responder: HttpResponder, deployment: Deployment
) -> None:
    cache.add(polling.poll_lock_key(deployment.pk), "locked", 60)
    assert polling.poll_with_lock(deployment.pk, timezone.now()) is None
    assert http_responder.requests == []


def test_a_due_deployment_is_claimed_once() -> None:
    now = timezone.now()
    due = Deployment.objects.create(name="due", graphql_url="http://a/graphql")
    Deployment.objects.create(
        name="later", graphql_url="http://b/graphql", next_poll_at=now + timedelta(seconds=5)
    )
    Deployment.objects.create(name="paused", graphql_url="http://c/graphql", enabled=False)
    assert polling.claim_due_deployments(now) == [due.pk]
    assert polling.claim_due_deployments(now) == []
    assert polling.claim_due_deployments(now + timedelta(seconds=2)) == [due.pk]


def test_old_poll_records_are_pruned(deployment: Deployment) -> None:
    now = timezone.now()
    for hours in (1, 100):
        PollRecord.objects.create(
            deployment=deployment, started_at=now - timedelta(hours=hours), duration_ms=1, ok=True
        )
    assert polling.prune_poll_records(now) == 1
    assert PollRecord.objects.count() == 1


def test_register_deployment_refuses_a_bad_url() -> None:
    with pytest.raises(CommandError, match="graphql_url"):
        call_command("register_deployment", "x", "not a url")
    assert not Deployment.objects.exists()


def test_a_broken_location_s_ticks_do_not_fail_the_poll(
    http_responder: HttpResponder, deployment: Deployment
) -> None:
    from monitoring.models import Instigator

    Instigator.objects.create(
        deployment=deployment,
        kind="sensor",
        name="registry",
        code_location="confradar",
        repository="__repository__",
    )
    deployment.ticks_polled_at = None
    deployment.ticks_high_water_mark = HIGH_WATER_MARK
    deployment.save()
    http_responder.respond(200, poll_answer([]))
    gone = {"__typename": "RepositoryNotFoundError", "message": "Could not find a repository"}
    http_responder.respond(
        200, json.dumps({"data": {"schedulesOrError": gone, "sensorsOrError": gone}})
    )
    now = timezone.now()
    assert polling.poll_deployment(deployment, now) is True
    deployment.refresh_from_db()
    assert deployment.ticks_polled_at == now and deployment.is_reachable
    assert deployment.ticks_high_water_mark == HIGH_WATER_MARK  # read again once it is back
