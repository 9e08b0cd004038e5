"""End to end: a scraper fails in the real example Dagster pipeline, the poller stores the run,
the default 'Run failed' rule fires, and a Slack message naming the source and carrying the
exception's text reaches a local receiver standing in for Slack.

Delivery runs with Celery in eager mode: the path is the production one (the poll's
``sources_touched`` signal -> evaluation -> outbox row -> ``transaction.on_commit`` ->
``outbox.dispatch`` -> ``deliver_notification``), only the broker hop is taken in-process, so
the test needs no worker and does not wait on a broker's polling. ``test_delivery`` covers the real
worker on the real broker.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from alerts.choices import OPEN_STATES, NotificationStatus, ResolvedHow
from alerts.models import Alert, AlertRule, Channel, Notification
from monitoring import polling
from monitoring.models import Deployment
from tests.fixtures.dagster import DagsterServer
from tests.fixtures.http import HttpResponder

pytestmark = [pytest.mark.dagster, pytest.mark.django_db]

FAILURE = "HTTP 502 Bad Gateway from https://www.elra.info/en/events/ (confops e2e)"


def poll(deployment: Deployment) -> None:
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    deployment.refresh_from_db()


def blocks_text(body: dict[str, Any]) -> str:
    found = [body["text"]]
    for block in body["attachments"][0]["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [item["text"] for item in block.get("fields", []) + block.get("elements", [])]
    return "\n".join(found)


def test_a_scraper_failure_reaches_slack_with_its_error(
    dagster_webserver: DagsterServer,
    http_responder: HttpResponder,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from confops.celery import app

    server = dagster_webserver
    deployment = Deployment.objects.create(
        name="confradar-e2e", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    poll(deployment)  # discovery, and whatever earlier tests left in this Dagster
    for leftover in Alert.objects.filter(state__in=OPEN_STATES):
        leftover.resolve(timezone.now(), how=ResolvedHow.MANUAL)  # as an operator would
    slack = Channel.objects.create(
        name="ops-slack", kind="slack", secret=f"{http_responder.url}/services/T0/B0/e2e"
    )
    slack.full_clean()
    AlertRule.objects.get(name="Run failed", is_default=True).channels.add(slack)

    server.set_faults({"elra_conferences": {"fail": True, "message": FAILURE}})
    try:
        run_id = server.launch_run("crawl_job", tags={"confops/test": "notifications-e2e"})
        assert server.wait_for_run(run_id)["status"] == "FAILURE"
    finally:
        server.clear_faults()

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        poll(deployment)

    row = Notification.objects.get(channel=slack)
    assert row.status == NotificationStatus.SENT, row.error
    [request] = [r for r in http_responder.requests if r.path == "/services/T0/B0/e2e"]
    text = blocks_text(request.json())
    assert "Firing: Run failed* on `elra_conferences`" in text
    assert FAILURE in text
    assert f"<{server.base_url}/runs/{run_id}|Dagster run>" in text
    assert f"/alerts/{row.alerts.get().pk}/|Acknowledge in confops>" in text
