"""Slack buttons acting on confops through the Slack app's request URL: a mapped operator's
press acknowledges, silences, resolves; forged, stale, replayed and under-privileged presses
change nothing. Slack's Web API and the presses' response_url are a local fake
(tests/fixtures/slack_api.py), driven through slack_sdk for real."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertState, IncidentState, NotificationEvent
from alerts.inbound import slack
from alerts.models import ChatIdentity, InboundRequest, Incident, Notification, Silence
from alerts.notify.transports import slack_app as slack_app_kind
from confops.celery import app as celery_app
from monitoring.models import Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of
from tests.alerts.integrations import (
    OTTO_SLACK,
    SIGNING_SECRET,
    STRANGER_SLACK,
    VERA_SLACK,
    audit_of,
    post_press,
    press,
    refusals,
    signed,
)
from tests.fixtures.processes import CeleryProcesses, wait_until
from tests.fixtures.slack_api import TEAM_ID, FakeSlack

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack_app(fake_slack: FakeSlack) -> Any:
    """A Slack app channel with its bot token and signing secret; the fake knows its people."""
    fake_slack.users.update(
        {
            OTTO_SLACK: {"email": "Otto-Operator@Example.com", "real_name": "Otto O."},
            VERA_SLACK: {"email": "vera-viewer@example.com", "real_name": "Vera V."},
            STRANGER_SLACK: {"email": "nobody@elsewhere.example", "real_name": "Stranger"},
        }
    )
    return f.channel(
        "ops-slack-app",
        kind=slack.KIND,
        secret="xoxb-confops-test",
        config={"channel": "C0OPS", "signing_secret": SIGNING_SECRET},
    )


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Queued tasks run in this process as they are queued (the worker's work, no worker)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


Post = Callable[[Any, str, dict[str, str]], Any]


@pytest.fixture
def post(client: Client, django_capture_on_commit_callbacks: Any, eager_tasks: None) -> Post:
    """POST to the channel's request URL, running what it queues once the request commits."""

    def send(channel: Any, body: str, headers: dict[str, str]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return post_press(client, channel, body, headers)

    return send


# --- the request URL ------------------------------------------------------------------------


def test_a_mapped_operators_press_acknowledges_the_incident_within_two_seconds(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    body, headers = signed(press(fake_slack, "confops_ack", outage))
    # A running portal has its URLs and middleware loaded: the first request of a test process
    # loads them (over a second on this machine), so an unsigned one goes first.
    assert post(slack_app, "", {}).status_code == 401
    started = time.perf_counter()
    response = post(slack_app, body, headers)
    outage.refresh_from_db()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert outage.state == IncidentState.ACKNOWLEDGED and outage.acknowledged_by == operator_user
    assert elapsed < 2
    assert {a.state for a in outage.alerts.all()} == {AlertState.ACKNOWLEDGED}
    for entry in audit_of(outage, "acknowledged") + [
        e for a in outage.alerts.all() for e in audit_of(a, "acknowledged")
    ]:
        assert entry.actor == operator_user and entry.actor_label == "Slack"
    assert len(audit_of(outage, "acknowledged")) == 1
    assert refusals(fake_slack) == []


def test_the_slack_app_channel_told_of_the_incident_gets_the_acknowledged_message(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    assert slack_app.transport_class() is slack_app_kind.SlackAppTransport
    members = list(outage.alerts.order_by("pk"))
    told = f.notification(slack_app, NotificationEvent.FIRING, members, timezone.now())
    told.incident = outage
    told.save(update_fields=["incident"])
    post(slack_app, *signed(press(fake_slack, "confops_ack", outage)))
    rows = Notification.objects.filter(channel=slack_app, event=NotificationEvent.ACKNOWLEDGED)
    assert [row.incident_id for row in rows] == [outage.pk]


def test_a_forged_signature_is_refused_and_changes_nothing(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    body, headers = signed(press(fake_slack, "confops_ack", outage), secret="not-the-secret")
    response = post(slack_app, body, headers)
    outage.refresh_from_db()
    assert response.status_code == 401 and SIGNING_SECRET not in response.content.decode()
    assert outage.state == IncidentState.OPEN and not InboundRequest.objects.exists()
    assert fake_slack.calls == [] and fake_slack.responses == {}


def test_a_press_without_a_signature_is_refused(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    body, _ = signed(press(fake_slack, "confops_ack", outage))
    assert post(slack_app, body, {}).status_code == 401
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN


def test_a_request_signed_six_minutes_ago_is_refused(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    body, headers = signed(press(fake_slack, "confops_ack", outage), age=6 * 60)
    assert post(slack_app, body, headers).status_code == 401
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN and fake_slack.calls == []


def test_a_replayed_request_is_answered_but_not_acted_on_again(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    body, headers = signed(press(fake_slack, "confops_ack", outage))
    assert post(slack_app, body, headers).status_code == 200
    outage.refresh_from_db()
    # Someone takes it back in the portal; the same request again must not acknowledge anew.
    outage.unacknowledge(operator_user, timezone.now())
    assert post(slack_app, body, headers).status_code == 200
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN
    assert len(audit_of(outage, "acknowledged")) == 1


def test_a_viewers_press_changes_nothing_and_tells_them_they_are_not_allowed(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, viewer_user: Any
) -> None:
    post(slack_app, *signed(press(fake_slack, "confops_ack", outage, VERA_SLACK)))
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN and audit_of(outage, "acknowledged") == []
    [refusal] = refusals(fake_slack)
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert "not allowed to acknowledge" in refusal["text"]


def test_a_channel_without_a_signing_secret_refuses_every_press(
    post: Post, fake_slack: FakeSlack, outage: Incident, operator_user: Any
) -> None:
    bare = f.channel("bare-slack-app", kind=slack.KIND, secret="xoxb-x", config={})
    assert post(bare, *signed(press(fake_slack, "confops_ack", outage))).status_code == 401


def test_requests_seen_over_ten_minutes_ago_are_forgotten(
    post: Post, fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    InboundRequest.first_time("slack", "0" * 64, timezone.now() - timedelta(minutes=11))
    InboundRequest.first_time("pagerduty", "1" * 64, timezone.now() - timedelta(minutes=11))
    post(slack_app, *signed(press(fake_slack, "confops_ack", outage)))
    kept = sorted(InboundRequest.objects.values_list("provider", flat=True))
    assert kept == ["pagerduty", "slack"]
    assert not InboundRequest.objects.filter(digest="0" * 64).exists()


# --- who pressed --------------------------------------------------------------------------


def test_a_presser_is_mapped_by_email_once_and_never_looked_up_again(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    now = timezone.now()
    slack.handle_action(slack_app.pk, press(fake_slack, "confops_silence_1h", outage), now)
    slack.handle_action(slack_app.pk, press(fake_slack, "confops_resolve", outage), now)
    assert len(fake_slack.calls_to("users.info")) == 1
    [link] = ChatIdentity.objects.all()
    assert (link.provider, link.workspace, link.external_id) == ("slack", TEAM_ID, OTTO_SLACK)
    assert link.user == operator_user and link.display_name == "Otto O."
    assert fake_slack.calls_to("users.info")[0].token == "xoxb-confops-test"


def test_a_presser_whose_email_matches_no_user_is_refused(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    payload = press(fake_slack, "confops_ack", outage, STRANGER_SLACK)
    assert slack.handle_action(slack_app.pk, payload, timezone.now()) == "refused"
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN and not ChatIdentity.objects.exists()
    assert "not allowed" in refusals(fake_slack)[0]["text"]


def test_a_linked_user_who_was_deactivated_is_refused(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    slack.handle_action(
        slack_app.pk, press(fake_slack, "confops_silence_1h", outage), timezone.now()
    )
    operator_user.is_active = False
    operator_user.save(update_fields=["is_active"])
    payload = press(fake_slack, "confops_ack", outage, key="r2")
    assert slack.handle_action(slack_app.pk, payload, timezone.now()) == "refused"


# --- the actions ----------------------------------------------------------------------------


def test_acknowledging_twice_changes_nothing_and_says_who_acknowledged(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    now = timezone.now()
    slack.handle_action(slack_app.pk, press(fake_slack, "confops_ack", outage), now)
    again = press(fake_slack, "confops_ack", outage, key="r2")
    assert slack.handle_action(slack_app.pk, again, now) == "refused"
    assert len(audit_of(outage, "acknowledged")) == 1
    assert "already acknowledged by otto-operator" in refusals(fake_slack, "r2")[0]["text"]


def test_silence_for_an_hour_silences_each_open_member_from_slack(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    now = timezone.now()
    slack.handle_action(slack_app.pk, press(fake_slack, "confops_silence_1h", outage), now)
    silences = list(Silence.objects.all())
    assert len(silences) == 2
    for silence in silences:
        assert silence.ends_at - silence.starts_at == timedelta(hours=1)
        assert "from Slack" in silence.comment and silence.created_by == operator_user
        [entry] = audit_of(silence, "created")
        assert entry.actor_label == "Slack"
    assert all(a.silenced_by_id for a in outage.alerts.all())
    again = press(fake_slack, "confops_silence_1h", outage, key="r2")
    assert slack.handle_action(slack_app.pk, again, now) == "refused"
    assert Silence.objects.count() == 2


def test_resolve_closes_the_incident_once(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    now = timezone.now()
    assert (
        slack.handle_action(slack_app.pk, press(fake_slack, "confops_resolve", outage), now)
        == "done"
    )
    outage.refresh_from_db()
    assert outage.state == IncidentState.RESOLVED
    [entry] = audit_of(outage, "resolved")
    assert entry.actor == operator_user and entry.actor_label == "Slack"
    again = press(fake_slack, "confops_resolve", outage, key="r2")
    assert slack.handle_action(slack_app.pk, again, now) == "refused"
    assert "already resolved" in refusals(fake_slack, "r2")[0]["text"]


def test_reexecute_of_an_alert_without_a_run_is_refused(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    payload = press(fake_slack, "confops_reexecute", outage)
    assert slack.handle_action(slack_app.pk, payload, timezone.now()) == "refused"
    assert "no Dagster run" in refusals(fake_slack)[0]["text"]


def test_other_interactions_and_the_runbook_button_are_ignored(
    fake_slack: FakeSlack, slack_app: Any, outage: Incident, operator_user: Any
) -> None:
    runbook = press(fake_slack, "confops_runbook", outage)
    assert slack.handle_action(slack_app.pk, runbook, timezone.now()) == "ignored"
    shortcut = {"type": "shortcut", "callback_id": "x"}
    assert slack.handle_action(slack_app.pk, shortcut, timezone.now()) == "ignored"
    assert fake_slack.calls == [] and fake_slack.responses == {}


def test_refusals_are_escaped_for_slack(
    fake_slack: FakeSlack, slack_app: Any, elra: Source, operator_user: Any
) -> None:
    now = timezone.now()
    hostile = incident_of("x", incident("Run failed", elra), state=IncidentState.OPEN)
    slack.handle_action(slack_app.pk, press(fake_slack, "confops_ack", hostile), now)
    operator_user.username = "<!channel>"
    operator_user.save(update_fields=["username"])
    again = press(fake_slack, "confops_ack", hostile, key="r2")
    slack.handle_action(slack_app.pk, again, now)
    text = refusals(fake_slack, "r2")[0]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


# --- on a real worker -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_on_the_portals_broker_acts_on_the_queued_press(
    celery_processes: CeleryProcesses,
    client: Client,
    fake_slack: FakeSlack,
    slack_app: Any,
    outage: Incident,
    operator_user: Any,
) -> None:
    """The request URL only queues the press; a worker (embedded broker, or Redis in the
    Redis pass) acknowledges, asking the fake Slack who pressed."""
    celery_processes.env["SLACK_API_URL"] = fake_slack.url
    celery_processes.worker()
    body, headers = signed(press(fake_slack, "confops_ack", outage))
    response = post_press(client, slack_app, body, headers)
    assert response.status_code == 200
    try:
        wait_until(
            lambda: Incident.objects.get(pk=outage.pk).state == IncidentState.ACKNOWLEDGED,
            60,
            "the worker's acknowledge",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None
    assert [entry.actor_label for entry in audit_of(outage, "acknowledged")] == ["Slack"]
    assert len(fake_slack.calls_to("users.info")) == 1
