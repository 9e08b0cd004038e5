"""A poll records its outcome on the deployment and never raises, whatever Dagster answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from monitoring import polling
from monitoring.models import Deployment
from tests.fixtures.dagster import DagsterServer
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db


def deployment_at(url: str, **fields: object) -> Deployment:
    return Deployment.objects.create(name="confradar", graphql_url=url, **fields)


def test_failures_are_counted_from_the_first_one(http_responder: HttpResponder) -> None:
    deployment = deployment_at(f"{http_responder.url}/graphql")
    http_responder.respond(200, "<html>maintenance</html>", content_type="text/html")
    http_responder.respond(503, "Service Unavailable", content_type="text/plain")
    first, second = timezone.now(), timezone.now() + timedelta(seconds=10)
    assert polling.poll_deployment(deployment, first) is False
    assert polling.poll_deployment(deployment, second) is False
    deployment.refresh_from_db()
    assert deployment.consecutive_failures == 2
    assert deployment.failing_since == first and deployment.last_poll_at == second
    assert "HTTP 503" in deployment.last_error
    assert not deployment.is_reachable


def test_a_good_poll_clears_the_failure(http_responder: HttpResponder) -> None:
    deployment = deployment_at(
        f"{http_responder.url}/graphql",
        consecutive_failures=4,
        failing_since=timezone.now(),
        last_error="boom",
    )
    http_responder.respond(200, '{"data": {"version": "1.13.27"}}')
    assert polling.poll_deployment(deployment, timezone.now()) is True
    deployment.refresh_from_db()
    assert deployment.consecutive_failures == 0 and deployment.failing_since is None
    assert deployment.last_error == "" and deployment.dagster_version == "1.13.27"
    assert deployment.is_reachable


def test_a_poll_already_running_is_not_doubled(http_responder: HttpResponder) -> None:
    deployment = deployment_at(f"{http_responder.url}/graphql")
    cache.add(polling.poll_lock_key(deployment.pk), "locked", 60)
    assert polling.poll_with_lock(deployment.pk, timezone.now()) is None
    assert http_responder.requests == []


def test_only_enabled_deployments_whose_interval_passed_are_due() -> None:
    now = timezone.now()
    due = deployment_at(
        "http://a/graphql", poll_interval_seconds=10, last_poll_at=now - timedelta(seconds=11)
    )
    Deployment.objects.create(name="recent", graphql_url="http://b/graphql", last_poll_at=now)
    Deployment.objects.create(name="paused", graphql_url="http://c/graphql", enabled=False)
    never = Deployment.objects.create(name="new", graphql_url="http://d/graphql")
    assert sorted(polling.due_deployment_ids(now)) == sorted([due.pk, never.pk])


def test_register_deployment_refuses_a_bad_url() -> None:
    with pytest.raises(CommandError, match="graphql_url"):
        call_command("register_deployment", "x", "not a url")
    assert not Deployment.objects.exists()


@pytest.mark.dagster
def test_it_polls_the_real_example_dagster(dagster_webserver: DagsterServer) -> None:
    deployment = deployment_at(dagster_webserver.graphql_url)
    assert polling.poll_deployment(deployment, timezone.now()) is True
    deployment.refresh_from_db()
    assert deployment.dagster_version == "1.13.27"
    assert deployment.last_poll_duration_ms is not None and deployment.last_poll_duration_ms > 0
