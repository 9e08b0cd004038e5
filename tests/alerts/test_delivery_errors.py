"""A failed delivery's error text gives no channel secret away: not where it is stored, not on the
alert page for a viewer, not in the admin, not in the worker's log and not in the "channel is
failing" message sent to every other channel. requests quotes the URL it failed on, and a Slack
webhook's path is its secret. Receivers are real: a closed port, an unresolvable host, a local
server that redirects or echoes the path."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from alerts.choices import NotificationEvent
from alerts.engine import delivery
from alerts.models import Channel, DeliveryAttempt, Notification
from alerts.notify import messages
from tests.alerts import factories as f
from tests.alerts.test_delivery import outbox_row
from tests.fixtures.dagster import free_port
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
SECRET = "XyZsEcReT0123456789abcd"


def fail_three_times(channel: Channel) -> list[delivery.Outcome]:
    """Three failed rows in a row: the channel is failing and the others are told."""
    outcomes = []
    for minute in range(3):
        at = T0 + timedelta(minutes=minute)
        row = outbox_row(channel, at, f"src{minute}")
        outcomes.append(delivery.deliver(row.pk, at, retries=False))
    return outcomes


def every_stored_text(channel: Channel) -> str:
    rows = Notification.objects.filter(channel=channel)
    attempts = DeliveryAttempt.objects.filter(notification__channel=channel)
    return " ".join([*(r.error for r in rows), *(a.error for a in attempts)])


def failing_notice_text() -> str:
    notice = Notification.objects.get(event=NotificationEvent.CHANNEL_FAILING)
    message = messages.render(notice.event, notice.payload, notice.pk)
    return " ".join([str(notice.payload), message.subject, message.text, message.html])


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"http://127.0.0.1:{{port}}/services/T000/B000/{SECRET}", id="closed-port"),
        pytest.param(f"http://nonexistent.invalid/services/T000/B000/{SECRET}", id="no-such-host"),
    ],
)
def test_a_connection_error_gives_the_slack_secret_away_nowhere(
    url: str,
    caplog: pytest.LogCaptureFixture,
    viewer_user_client: Client,
    admin_client: Client,
) -> None:
    slack = f.channel("ops-slack", secret=url.format(port=free_port()))
    f.channel("mail", kind="email", config={"to": ["ops@example.com"]})
    with caplog.at_level(logging.INFO):
        outcomes = fail_three_times(slack)

    assert [o.status for o in outcomes] == [delivery.FAILED] * 3
    assert "ConnectionError" in outcomes[0].error  # the reason is still there to read
    stored = every_stored_text(slack)
    assert stored and SECRET not in stored
    assert SECRET not in caplog.text and "failed" in caplog.text
    assert "ConnectionError" in failing_notice_text() and SECRET not in failing_notice_text()
    alert = Notification.objects.filter(channel=slack).first().alerts.get()  # type: ignore[union-attr]
    page = viewer_user_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "ConnectionError" in page and SECRET not in page
    for admin_page in (
        f"/admin/alerts/alert/{alert.pk}/change/",
        "/admin/alerts/notification/",
    ):
        assert SECRET not in admin_client.get(admin_page).content.decode()


def test_a_test_message_from_the_admin_shows_the_error_without_the_secret(
    admin_client: Client,
) -> None:
    slack = f.channel("ops-slack", secret=f"http://127.0.0.1:{free_port()}/services/T/B/{SECRET}")
    response = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_message", "_selected_action": [slack.pk]},
        follow=True,
    )
    [shown] = [str(m) for m in response.context["messages"]]
    assert "test message failed: ConnectionError" in shown and SECRET not in shown


def test_a_redirect_to_the_secret_path_is_reported_by_host_only(
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(301, "", headers={"Location": f"/services/T000/B000/{SECRET}"})
    slack = f.channel("ops-slack", secret=f"{http_responder.url}/services/T000/B000/{SECRET}")
    outcome = delivery.deliver(outbox_row(slack).pk, T0)
    assert outcome.status == delivery.FAILED
    assert "redirected (HTTP 301) to http://127.0.0.1" in outcome.error
    assert SECRET not in every_stored_text(slack)


def test_a_receiver_that_echoes_the_webhook_path_has_it_masked(
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(404, f"no route for /hooks/{SECRET}", content_type="text/plain")
    hook = Channel.objects.create(
        name="hook",
        kind="webhook",
        config={"url": f"{http_responder.url}/hooks/{SECRET}"},
        min_severity="info",
    )
    outcome = delivery.deliver(outbox_row(hook).pk, T0)
    assert "answered HTTP 404: no route for" in outcome.error
    assert SECRET not in every_stored_text(hook)


def test_the_stored_row_redacts_an_error_whatever_the_transport_said() -> None:
    """The last door: a future transport that forgets to redact still stores no secret."""
    header = f"Bearer {SECRET}"
    hook = Channel.objects.create(
        name="hook",
        kind="webhook",
        config={"url": "https://receiver.example.com/h", "headers": {"Authorization": header}},
    )
    row = outbox_row(hook)
    assert Notification.claim(row.pk, T0)
    attempt = DeliveryAttempt.objects.create(notification=row, number=1, started_at=T0)
    attempt.complete(ok=False, duration_ms=1.0, error=f"refused {header}")
    assert row.finish(T0, error=f"refused {header}", status="failed")
    row.refresh_from_db()
    attempt.refresh_from_db()
    assert SECRET not in row.error + attempt.error and "refused" in row.error


def test_an_unexpected_error_is_logged_with_its_traceback_redacted(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alerts.notify.transports.slack import SlackTransport

    def broken_send(self: Any, message: Any) -> Any:
        raise RuntimeError(f"bug while posting to {self.secret}")

    monkeypatch.setattr(SlackTransport, "send", broken_send)
    slack = f.channel("ops-slack", secret=f"https://hooks.slack.com/services/T/B/{SECRET}")
    with caplog.at_level(logging.ERROR):
        outcome = delivery.deliver(outbox_row(slack).pk, T0)
    assert outcome.status == delivery.RETRY and "RuntimeError: bug while posting" in outcome.error
    assert "Traceback" in caplog.text and "broken_send" in caplog.text
    assert SECRET not in caplog.text + outcome.error + every_stored_text(slack)
