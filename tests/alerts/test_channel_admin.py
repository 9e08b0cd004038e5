"""Channels and notifications in the admin: per-kind config checked with clear messages, secrets
kept masked (audit trail included), a test message with its result, failed rows visible on the
alert and retried by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from alerts.choices import NotificationStatus
from alerts.engine import delivery
from alerts.models import AlertRule, Channel, Notification
from confops.accounts.models import AuditEntry
from confops.common import queues
from tests.alerts import factories as f
from tests.alerts.test_delivery import outbox_row, webhook_channel
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"


def channel_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "ops-mail",
        "kind": "email",
        "enabled": "on",
        "min_severity": "warning",
        "config": json.dumps({"to": ["oncall@example.com"]}),
        "secret": "",
    }
    data.update(overrides)
    return data


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"config": "{}"}, "to: is required"),
        ({"config": json.dumps({"to": ["nobody"]})}, "to: &#x27;nobody&#x27; is not an email"),
        ({"kind": "slack", "config": "{}"}, "required for Slack (incoming webhook)"),
        ({"kind": "webhook", "config": json.dumps({"url": "hooks"})}, "url: must be an http"),
    ],
)
def test_a_channel_with_a_bad_config_is_refused_with_a_message(
    admin_client: Client, overrides: dict[str, object], message: str
) -> None:
    response = admin_client.post("/admin/alerts/channel/add/", channel_form(**overrides))
    assert response.status_code == 200 and not Channel.objects.exists()
    assert message in response.content.decode()


def test_the_form_explains_each_kind(admin_client: Client) -> None:
    html = admin_client.get("/admin/alerts/channel/add/").content.decode()
    assert "email: to (required)" in html and "webhook: url (required)" in html
    assert "the incoming webhook URL" in html


def test_a_valid_channel_is_saved_and_its_secret_stays_out_of_the_audit(
    admin_client: Client,
) -> None:
    response = admin_client.post(
        "/admin/alerts/channel/add/",
        channel_form(name="ops-slack", kind="slack", config="{}", secret=SLACK_URL),
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="ops-slack")
    assert channel.secret == SLACK_URL
    entry = AuditEntry.objects.get(object_type="alerts.Channel")
    assert "XXXXsecretXXXX" not in json.dumps(entry.changes)
    assert entry.changes["secret"] == [None, "••••XXXX"]


def test_a_test_message_shows_success(admin_client: Client, http_responder: HttpResponder) -> None:
    channel = webhook_channel(f"{http_responder.url}/hook")
    response = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_message", "_selected_action": [channel.pk]},
        follow=True,
    )
    assert messages_of(response) == ["hook: test message sent."]
    [request] = http_responder.requests
    assert request.json()["event"] == "test" and "admin" in request.json()["text"]
    row = Notification.objects.get(event="test")
    assert row.status == NotificationStatus.SENT and row.delivery_attempts.get().ok


def test_a_test_message_shows_the_error(
    admin_client: Client, http_responder: HttpResponder
) -> None:
    http_responder.respond(404, "no_service", content_type="text/plain")
    channel = f.channel("slack", secret=f"{http_responder.url}/services/x")
    response = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_message", "_selected_action": [channel.pk]},
        follow=True,
    )
    assert messages_of(response) == [
        "slack: test message failed: Slack answered HTTP 404: no_service"
    ]
    assert len(http_responder.requests) == 1  # a test is never retried


def test_failed_rows_show_on_the_alert_and_can_be_retried_by_hand(
    admin_client: Client,
    http_responder: HttpResponder,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alerts import tasks

    http_responder.respond(403, "invalid_token", content_type="text/plain")
    row = outbox_row(f.channel("slack", secret=http_responder.url))
    assert delivery.deliver(row.pk, T0).status == delivery.FAILED
    alert = row.alerts.get()

    page = admin_client.get(f"/admin/alerts/alert/{alert.pk}/change/").content.decode()
    assert "Slack answered HTTP 403: invalid_token" in page and "failed" in page
    listing = admin_client.get("/admin/alerts/notification/?status__exact=failed")
    assert "invalid_token" in listing.content.decode()
    detail = admin_client.get(f"/admin/alerts/notification/{row.pk}/change/").content.decode()
    assert "Delivery attempts" in detail and "&quot;sources&quot;" in detail

    queued: list[tuple[int, str]] = []
    monkeypatch.setattr(
        tasks.deliver_notification,
        "apply_async",
        lambda args, queue: queued.append((*args, queue)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/alerts/notification/", {"action": "retry", "_selected_action": [row.pk]}
        )
    assert queued == [(row.pk, queues.DELIVER_CHAT)]
    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING and row.attempts == 0 and row.error == ""
    assert delivery.deliver(row.pk).status == delivery.SENT
    assert row.delivery_attempts.count() == 2
    assert AuditEntry.objects.filter(action="retried", object_id=str(row.pk)).exists()


def test_only_the_built_in_and_apprise_kinds_are_offered_and_they_come_from_the_registry() -> None:
    from alerts.choices import ChannelKind
    from alerts.models import channel_kind_choices
    from alerts.notify.transports.apprise_kinds import SERVICE_TRANSPORTS, AppriseTransport

    apprise_kinds = {AppriseTransport.kind} | {t.kind for t in SERVICE_TRANSPORTS}
    offered = {kind for kind, _ in channel_kind_choices()}
    assert offered == set(ChannelKind.values) | apprise_kinds
    assert AlertRule.objects.exists()  # the default rules are there to attach channels to
