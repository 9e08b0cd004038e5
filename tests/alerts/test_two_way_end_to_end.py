"""One incident through Slack and PagerDuty at once, on a real Celery worker: the page reaches
both (one Slack root message, one PagerDuty incident), an operator's Acknowledge press in Slack
acknowledges it and edits the root and acknowledges in PagerDuty, and a resolve done in
PagerDuty resolves it here and edits the root once more, with nothing sent twice.

Slack's Web API and PagerDuty are the local fakes (tests/fixtures/slack_api.py,
tests/fixtures/pagerduty.py); the worker reaches them through SLACK_API_URL and
PAGERDUTY_EVENTS_URL, the portal's request handlers run in this process."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import IncidentState, NotificationEvent
from alerts.engine import policy
from alerts.models import Incident, IncidentMirror
from tests.alerts import factories as f
from tests.alerts.incidents import incident_of
from tests.alerts.integrations import OTTO_SLACK, post_press, post_webhook, press, signed
from tests.fixtures.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fixtures.processes import CeleryProcesses, wait_until
from tests.fixtures.slack_api import FakeSlack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("only_our_rules"),
]

SLACK_SIGNING = "e2e-slack-signing-secret-0123456789"
PD_SIGNING = "e2e-pagerduty-webhook-secret"


def wait(condition: Any, what: str, processes: CeleryProcesses, seconds: float = 60) -> float:
    """Seconds until ``condition()`` held; fails with the worker's log otherwise."""
    started = time.monotonic()
    try:
        wait_until(condition, seconds, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{processes.logs()}") from None
    return time.monotonic() - started


def test_one_incident_mirrored_in_slack_and_pagerduty_from_page_to_resolve(
    celery_processes: CeleryProcesses,
    client: Client,
    fake_slack: FakeSlack,
    fake_pagerduty: FakePagerDuty,
    operator_user: Any,
) -> None:
    celery_processes.env["SLACK_API_URL"] = fake_slack.url
    celery_processes.env["PAGERDUTY_EVENTS_URL"] = fake_pagerduty.events_url
    celery_processes.worker()
    fake_slack.users[OTTO_SLACK] = {"email": operator_user.email, "real_name": "Otto O."}
    slack = f.channel(
        "ops-slack",
        kind="slack_app",
        secret="xoxb-confops-test",
        config={"channel": "C0OPS", "signing_secret": SLACK_SIGNING},
    )
    pager = f.channel(
        "ops-pager", kind="pagerduty", secret=ROUTING_KEY, config={"webhook_secret": PD_SIGNING}
    )
    now = timezone.now()
    rule = f.rule("Run failed", "run_failed", [slack, pager], severity="critical")
    alert = f.alert(rule, f.source("elra_conferences", f.deployment("prod")), now)
    outage = incident_of("elra_conferences: run failed", alert)

    assert policy.page(outage, NotificationEvent.FIRING, [alert], now) == 2
    wait(lambda: len(fake_slack.roots("C0OPS")) == 1, "the Slack root message", celery_processes)
    key = f"confops-incident-{outage.pk}"
    wait(lambda: fake_pagerduty.open_incident(key) is not None, "the page", celery_processes)
    wait(
        lambda: IncidentMirror.objects.filter(incident=outage).count() == 2,
        "both threads stored",
        celery_processes,
    )
    root = fake_slack.roots("C0OPS")[0]
    assert "confops_ack" in fake_slack.message("C0OPS", root.ts).action_ids()

    # Otto presses Acknowledge in Slack.
    acknowledge = press(fake_slack, "confops_ack", outage, OTTO_SLACK, key="otto")
    body, headers = signed(acknowledge, SLACK_SIGNING)
    pressed = time.monotonic()
    answer = post_press(client, slack, body, headers)
    assert answer.status_code == 200
    assert time.monotonic() - pressed < 3.0  # Slack's limit for the answer
    acknowledged = wait(
        lambda: Incident.objects.get(pk=outage.pk).state == IncidentState.ACKNOWLEDGED,
        "the acknowledge",
        celery_processes,
    )
    assert acknowledged < 2.0, f"acknowledged {acknowledged:.2f} s after the press"
    wait(
        lambda: "Acknowledged by" in fake_slack.message("C0OPS", root.ts).all_text(),
        "the root edited to show the acknowledge",
        celery_processes,
    )
    assert "confops_ack" not in fake_slack.message("C0OPS", root.ts).action_ids()
    wait(
        lambda: fake_pagerduty.open_incident(key).state == "acknowledged",  # type: ignore[union-attr]
        "the acknowledge in PagerDuty",
        celery_processes,
    )
    assert not fake_slack.responses.get("otto"), "Otto was told he may not"

    # Someone resolves it in PagerDuty.
    resolved = fake_pagerduty.webhook("incident.resolved", key, PD_SIGNING, agent="Jane Doe")
    assert post_webhook(client, pager, *resolved) == 200
    assert Incident.objects.get(pk=outage.pk).state == IncidentState.RESOLVED
    wait(
        lambda: (
            "Resolved" in fake_slack.message("C0OPS", root.ts).all_text()
            and not fake_slack.message("C0OPS", root.ts).action_ids()
        ),
        "the root edited to resolved, without buttons",
        celery_processes,
    )

    # Nothing twice: one root, one PagerDuty incident with one trigger, never re-triggered.
    assert len(fake_slack.roots("C0OPS")) == 1
    incidents = fake_pagerduty.incidents_of(key)
    assert [(i.state, i.triggers) for i in incidents] == [("resolved", 1)]
    assert [e["event_action"] for e in incidents[0].events] == ["trigger", "acknowledge"]
