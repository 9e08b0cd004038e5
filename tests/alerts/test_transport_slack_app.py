"""The Slack app kind (two-way) through real delivery against a fake Slack Web API: one root
message per incident, edited as the incident changes, replies in its thread, buttons while it
is open, and Slack's answers sorted into "try again" and "give up"."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts import operations
from alerts.choices import NotificationEvent, NotificationStatus
from alerts.engine import delivery, evaluation, policy
from alerts.models import (
    Alert,
    AlertRule,
    Channel,
    DeliveryAttempt,
    Incident,
    IncidentMirror,
    Notification,
)
from alerts.notify import messages
from alerts.notify.transports import ConfigError, transport_class
from alerts.notify.transports import slack_app as slack_app_transport  # registers the kind
from tests.alerts import factories as f
from tests.alerts.test_messages import alert_json
from tests.alerts.test_messages import payload as message_payload
from tests.fixtures.slack_api import FakeSlack, SlackMessage

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
TOKEN = "xoxb-1111-2222-secretbottoken"
ROOM = "C0OPS"
KIND = slack_app_transport.KIND


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    """One clock for the doors (which read it) and the engine (given its ``now``)."""
    AlertRule.objects.all().delete()
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def no_jitter() -> float:
    return 0.5


def app_channel(**config: Any) -> Channel:
    return f.channel("ops-app", kind=KIND, secret=TOKEN, config={"channel": ROOM, **config})


def firing(channel: Channel, clock: time_machine.Traveller) -> tuple[Alert, Incident]:
    """elra's run failed and its "Run failed" alert fired, in an incident told to ``channel``."""
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [channel])
    f.run(elra, T0, ok=False)
    clock.shift(timedelta(minutes=1))
    evaluation.evaluate(timezone.now())
    alert = Alert.objects.get()
    assert alert.incident is not None
    return alert, alert.incident


def deliver_all() -> list[delivery.Outcome]:
    rows = Notification.objects.filter(status=NotificationStatus.PENDING).order_by("pk")
    return [delivery.deliver(row.pk, timezone.now(), rng=no_jitter) for row in rows]


def tell(channel: Channel, event: str, alert: Alert, incident: Incident) -> Notification:
    incident.refresh_from_db()
    return policy.create_notification(channel, event, alert.rule, [alert], timezone.now(), incident)


def root_of(fake: FakeSlack) -> SlackMessage:
    [root] = fake.roots(ROOM)
    return root


def test_the_config_needs_a_channel_id_and_a_bot_token() -> None:
    kind = transport_class(KIND)
    with pytest.raises(ConfigError) as no_channel:
        kind.parse_config({}, TOKEN)
    assert "channel" in no_channel.value.messages
    with pytest.raises(ConfigError) as a_name:
        kind.parse_config({"channel": "#ops"}, TOKEN)
    assert "channel id" in a_name.value.messages["channel"]
    with pytest.raises(ConfigError) as webhook:
        kind.parse_config({"channel": ROOM}, "https://hooks.slack.com/services/T/B/x")
    assert "xoxb-" in webhook.value.messages["secret"]
    with pytest.raises(ConfigError) as mention:
        kind.parse_config({"channel": ROOM, "mentions": {"critical": "@here"}}, TOKEN)
    assert "not a Slack mention" in str(mention.value)
    with pytest.raises(ConfigError):
        kind.parse_config({"channel": ROOM, "app_token": "xoxb-wrong"}, TOKEN)
    assert kind.parse_config({"channel": ROOM, "app_token": "xapp-1-x"}, TOKEN)
    assert kind.mirrors_incidents and kind.label == "Slack app (two-way)"


def test_the_signing_secret_and_app_token_are_masked() -> None:
    kind = transport_class(KIND)
    config = {"channel": ROOM, "signing_secret": "s3cr3tsigningvalue", "app_token": "xapp-1-abc"}
    shown = json.dumps(kind.masked_config(config))
    assert "s3cr3tsigningvalue" not in shown and "xapp-1-abc" not in shown
    assert ROOM in shown
    assert {"s3cr3tsigningvalue", "xapp-1-abc", TOKEN} <= set(kind.secret_values(config, TOKEN))


def test_one_root_per_incident_follows_it_from_firing_to_resolved(
    fake_slack: FakeSlack, clock: time_machine.Traveller, operator_user: Any
) -> None:
    channel = app_channel()
    alert, incident = firing(channel, clock)
    assert [o.status for o in deliver_all()] == [delivery.SENT]
    root = root_of(fake_slack)
    assert "Firing" in root.text and "elra\\_conferences" not in root.text
    assert root.action_ids() == [
        "confops_ack",
        "confops_silence_1h",
        "confops_resolve",
        "confops_reexecute",
    ]
    mirror = IncidentMirror.objects.get(channel=channel, incident=incident)
    assert (mirror.reference, mirror.conversation, mirror.remote_state) == (root.ts, ROOM, "open")

    clock.shift(timedelta(minutes=30))
    tell(channel, NotificationEvent.REMINDER, alert, incident)
    deliver_all()
    [reply] = fake_slack.replies(ROOM, root.ts)
    assert "Still firing" in reply.all_text()
    assert root_of(fake_slack).edits == 1

    clock.shift(timedelta(minutes=2))
    operator_user.first_name, operator_user.last_name = "Otto", "Operator"
    operator_user.save()
    operations.acknowledge_incident(incident, operator_user, "on it", timezone.now())
    assert [o.status for o in deliver_all()] == [delivery.SENT]
    root = root_of(fake_slack)
    assert "Acknowledged by Otto Operator" in root.all_text()
    assert "confops_ack" not in root.action_ids() and "confops_resolve" in root.action_ids()
    assert IncidentMirror.objects.get(incident=incident).remote_state == "acknowledged"

    clock.shift(timedelta(minutes=5))
    incident.refresh_from_db()
    operations.resolve_incident(incident, operator_user, timezone.now())
    assert [o.status for o in deliver_all()] == [delivery.SENT]
    root = root_of(fake_slack)
    assert "Resolved" in root.text and root.action_ids() == []
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # the root and one reply
    assert IncidentMirror.objects.get(incident=incident).remote_state == "resolved"


def test_every_button_names_the_incident_and_its_first_alert(
    fake_slack: FakeSlack, clock: time_machine.Traveller
) -> None:
    alert, incident = firing(app_channel(), clock)
    deliver_all()
    [actions] = [b for b in root_of(fake_slack).blocks if b["type"] == "actions"]
    values = {json.loads(e["value"])["incident"] for e in actions["elements"]}
    assert values == {incident.pk}
    assert {json.loads(e["value"])["alert"] for e in actions["elements"]} == {alert.pk}
    [reexecute] = [e for e in actions["elements"] if e["action_id"] == "confops_reexecute"]
    assert reexecute["confirm"]["confirm"]["text"] == "Re-execute"


def test_a_429_is_retried_not_before_retry_after(
    fake_slack: FakeSlack, clock: time_machine.Traveller
) -> None:
    firing(app_channel(), clock)
    fake_slack.rate_limit(retry_after=30)
    [outcome] = deliver_all()
    now = timezone.now()
    assert outcome.retry_at is not None and outcome.retry_at >= now + timedelta(seconds=30)
    row = Notification.objects.get()
    assert delivery.deliver(row.pk, now + timedelta(seconds=29)).status == delivery.SKIPPED
    assert delivery.deliver(row.pk, now + timedelta(seconds=31)).status == delivery.SENT
    assert len(fake_slack.roots(ROOM)) == 1


def test_a_brief_rate_limit_on_the_thread_reply_is_waited_out_within_the_attempt(
    fake_slack: FakeSlack, clock: time_machine.Traveller
) -> None:
    """A reminder is two calls (edit the root, reply in its thread): a 429 asking for a second
    is waited out once rather than failing the whole row, and nothing is posted twice."""
    channel = app_channel()
    alert, incident = firing(channel, clock)
    deliver_all()
    clock.shift(timedelta(minutes=30))
    reminder = tell(channel, NotificationEvent.REMINDER, alert, incident)
    fake_slack.rate_limit(count=1, retry_after=1)
    [outcome] = deliver_all()
    assert outcome.status == delivery.SENT
    reminder.refresh_from_db()
    assert reminder.attempts == 1
    root = root_of(fake_slack)
    assert len(fake_slack.replies(ROOM, root.ts)) == 1
    fake_slack.rate_limit(count=2, retry_after=1)  # still limited after the wait: a retry later
    tell(channel, NotificationEvent.REMINDER, alert, incident)
    [later] = deliver_all()
    assert later.status == delivery.RETRY and len(fake_slack.replies(ROOM, root.ts)) == 1


def test_a_revoked_token_fails_at_once_without_showing_the_token(
    fake_slack: FakeSlack, clock: time_machine.Traveller, caplog: pytest.LogCaptureFixture
) -> None:
    firing(app_channel(), clock)
    fake_slack.fail_with("invalid_auth")
    with caplog.at_level(logging.DEBUG):
        [outcome] = deliver_all()
    assert outcome.status == delivery.FAILED
    row = Notification.objects.get()
    assert row.status == NotificationStatus.FAILED and "invalid_auth" in row.error
    errors = " ".join(a.error for a in DeliveryAttempt.objects.all())
    assert "invalid_auth" in errors and TOKEN not in errors and TOKEN not in caplog.text


def test_a_5xx_is_tried_again(fake_slack: FakeSlack, clock: time_machine.Traveller) -> None:
    firing(app_channel(), clock)
    fake_slack.server_error()
    [outcome] = deliver_all()
    assert outcome.retry_at is not None
    assert Notification.objects.get().status == NotificationStatus.PENDING


def test_a_late_retry_of_an_older_row_does_not_roll_the_root_back(
    fake_slack: FakeSlack, clock: time_machine.Traveller, operator_user: Any
) -> None:
    channel = app_channel()
    alert, incident = firing(channel, clock)
    deliver_all()
    clock.shift(timedelta(minutes=30))
    reminder = tell(channel, NotificationEvent.REMINDER, alert, incident)
    fake_slack.server_error()  # the reminder's root edit fails: it waits for a retry
    delivery.deliver(reminder.pk, timezone.now(), rng=no_jitter)
    operations.acknowledge_incident(incident, operator_user, "", timezone.now())
    [acknowledged] = Notification.objects.filter(event=NotificationEvent.ACKNOWLEDGED)
    assert delivery.deliver(acknowledged.pk, timezone.now()).status == delivery.SENT

    later = timezone.now() + timedelta(hours=1)
    assert delivery.deliver(reminder.pk, later).status == delivery.SENT
    root = root_of(fake_slack)
    assert "Acknowledged by" in root.all_text() and "confops_ack" not in root.action_ids()
    assert IncidentMirror.objects.get(incident=incident).last_notification_id == acknowledged.pk
    assert len(fake_slack.replies(ROOM, root.ts)) == 1  # the reminder still replied


def test_a_deleted_root_is_posted_again(
    fake_slack: FakeSlack, clock: time_machine.Traveller
) -> None:
    channel = app_channel()
    alert, incident = firing(channel, clock)
    deliver_all()
    first = root_of(fake_slack)
    fake_slack.deleted(ROOM, first.ts)
    tell(channel, NotificationEvent.REMINDER, alert, incident)
    assert [o.status for o in deliver_all()] == [delivery.SENT]
    second = root_of(fake_slack)
    assert second.ts != first.ts
    assert IncidentMirror.objects.get(incident=incident).reference == second.ts


def test_a_message_about_no_incident_is_posted_on_its_own(fake_slack: FakeSlack) -> None:
    channel = app_channel()
    assert delivery.send_test(channel, timezone.now()).status == delivery.SENT
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.token == TOKEN and call.args["channel"] == ROOM
    assert not IncidentMirror.objects.exists()


def app(**config: Any) -> Any:
    return transport_class(KIND).from_channel({"channel": ROOM, **config}, TOKEN)


def incident_message(event: str, *raw: dict[str, Any], **incident: Any) -> messages.Message:
    state = {"id": 5, "title": "Run failed on <!channel>", "state": "open", "sources": len(raw)}
    body = message_payload(event, list(raw), incident={**state, **incident})
    return messages.render(event, body, 40)


def test_the_root_offers_the_runbook_and_no_reexecute_without_a_run(
    fake_slack: FakeSlack,
) -> None:
    message = incident_message("firing", alert_json(7, "elra_conferences", run_id=""))
    app().send(message)
    root = root_of(fake_slack)
    assert root.action_ids() == [
        "confops_ack",
        "confops_silence_1h",
        "confops_resolve",
        "confops_runbook",
    ]
    [runbook] = [e for b in root.blocks if b["type"] == "actions" for e in b["elements"][-1:]]
    assert runbook["url"] == "http://localhost:8000/runbooks/scraper-failure/"


def test_what_users_and_dagster_wrote_is_escaped_and_mentions_ping_on_firing_only(
    fake_slack: FakeSlack,
) -> None:
    raw = alert_json(7, "<!channel>", severity="critical")
    result = app(mention="<!here>").send(incident_message("firing", raw))
    assert result.thread is not None
    root = root_of(fake_slack)
    assert "<!channel>" not in root.all_text() and "&lt;!channel&gt;" in root.text
    assert "<!here>" in root.all_text()
    reminder = replace(incident_message("reminder", raw), thread=result.thread)
    app(mention="<!here>").send(replace(reminder, notification_id=41))
    [reply] = fake_slack.replies(ROOM, root.ts)
    assert "<!here>" in reply.all_text()  # a reply pings; the edited root does not again
    assert "<!here>" not in root_of(fake_slack).all_text()


def test_a_raised_severity_and_a_grouped_incident_show_on_the_root(
    fake_slack: FakeSlack,
) -> None:
    first = app().send(incident_message("firing", alert_json(7, "elra_conferences")))
    members = [alert_json(7, "elra_conferences"), alert_json(8, "wikicfp", severity="critical")]
    raised = incident_message("severity_raised", *members)
    app().send(replace(raised, thread=first.thread, notification_id=41))
    root = root_of(fake_slack)
    assert "*Firing, severity raised to critical* · 2 sources" in root.all_text()
    assert fake_slack.replies(ROOM, root.ts) == []  # a raise edits the root only


def test_unacknowledging_brings_the_acknowledge_button_back(
    fake_slack: FakeSlack, clock: time_machine.Traveller, operator_user: Any
) -> None:
    _alert, incident = firing(app_channel(), clock)
    deliver_all()
    operations.acknowledge_incident(incident, operator_user, "", timezone.now())
    deliver_all()
    incident.refresh_from_db()
    operations.unacknowledge_incident(incident, operator_user, timezone.now())
    deliver_all()
    assert root_of(fake_slack).action_ids()[0] == "confops_ack"
    assert IncidentMirror.objects.get(incident=incident).remote_state == "open"
