"""Against the real example Dagster: a run fails by an injected fault, the fault is cleared, an
operator re-executes the run from its failure on the alert's page, and the new run succeeds,
linked to the alert, which then resolves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertEventKind, AlertState
from alerts.engine.evaluation import evaluate
from alerts.models import Alert, AlertRule
from confops.accounts.models import AuditEntry
from monitoring import polling
from monitoring.models import Deployment
from tests.fixtures.dagster import DagsterServer

pytestmark = [pytest.mark.dagster, pytest.mark.django_db]


def poll(deployment: Deployment) -> None:
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    deployment.refresh_from_db()


def test_an_operator_reexecutes_a_failed_run_from_its_failure(
    dagster_webserver: DagsterServer, operator_client: Client, operator_user: Any
) -> None:
    server = dagster_webserver
    deployment = Deployment.objects.create(
        name="confradar", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    poll(deployment)
    server.set_faults({"elra_conferences": {"fail": True}})
    try:
        failed_id = server.launch_run("crawl_job")
        assert server.wait_for_run(failed_id)["status"] == "FAILURE"
    finally:
        server.clear_faults()
    poll(deployment)  # stores the failure; the alert engine judges it at once
    alert = Alert.objects.get(
        rule__name="Run failed", source__key="elra_conferences", state=AlertState.FIRING
    )
    assert alert.run_id == failed_id

    page = operator_client.get(f"/alerts/{alert.pk}/reexecute/")
    assert page.status_code == 200 and failed_id in page.content.decode()
    response = operator_client.post(f"/alerts/{alert.pk}/reexecute/")
    assert response.status_code == 303, response.content.decode()[:2000]

    event = alert.events.get(kind=AlertEventKind.REEXECUTED)
    new_id = event.data["new_run_id"]
    assert event.actor == operator_user and event.data["parent_run_id"] == failed_id
    assert event.data["new_run_url"] == f"{server.base_url}/runs/{new_id}"
    assert AuditEntry.objects.get(action="reexecuted").changes == {"run_id": [failed_id, new_id]}
    child = server.wait_for_run(new_id)
    assert child["status"] == "SUCCESS"
    tags = {t["key"]: t["value"] for t in child["tags"]}
    assert tags["dagster/parent_run_id"] == failed_id
    assert tags["confops/triggered_by"] == operator_user.username
    assert tags["confops/alert_id"] == str(alert.pk)

    poll(deployment)  # the re-executed run's success clears the failure...
    alert.refresh_from_db()
    assert alert.clear_since is not None
    # ...and the alert resolves once the rule's resolve hold (flapping guard) has passed.
    hold = timedelta(minutes=alert.rule.resolve_hold_minutes)
    evaluate(alert.clear_since + hold)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    detail = operator_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert new_id in detail


def test_reexecuting_a_run_that_succeeded_is_refused_readably(
    dagster_webserver: DagsterServer, operator_client: Client
) -> None:
    server = dagster_webserver
    deployment = Deployment.objects.create(
        name="confradar-ok", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    ok_id = server.launch_run("crawl_job")
    assert server.wait_for_run(ok_id)["status"] == "SUCCESS"
    poll(deployment)
    source = deployment.sources.get(key="elra_conferences")
    alert = Alert.objects.create(
        rule=AlertRule.objects.get(name="Run failed"),
        source=source,
        state=AlertState.FIRING,
        severity="warning",
        summary="stale claim",
        run_id=ok_id,
        opened_at=timezone.now(),
        condition_since=timezone.now(),
        fired_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    response = operator_client.post(f"/alerts/{alert.pk}/reexecute/")
    assert response.status_code == 502
    assert f"Run {ok_id} did not fail" in response.content.decode()
    assert not alert.events.filter(kind=AlertEventKind.REEXECUTED).exists()


def test_the_same_failed_run_is_re_executed_once(
    dagster_webserver: DagsterServer, operator_client: Client
) -> None:
    """A double click (or two operators) must launch one Dagster run, not two."""
    server = dagster_webserver
    deployment = Deployment.objects.create(
        name="confradar-twice", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    poll(deployment)
    server.set_faults({"elra_conferences": {"fail": True}})
    try:
        failed_id = server.launch_run("crawl_job")
        server.wait_for_run(failed_id)
    finally:
        server.clear_faults()
    poll(deployment)
    alert = Alert.objects.get(
        rule__name="Run failed", source__key="elra_conferences", state=AlertState.FIRING
    )
    first = operator_client.post(f"/alerts/{alert.pk}/reexecute/")
    second = operator_client.post(f"/alerts/{alert.pk}/reexecute/")
    assert first.status_code == 303
    assert second.status_code == 409 and "already re-executed" in second.content.decode()
    assert alert.events.filter(kind=AlertEventKind.REEXECUTED).count() == 1
