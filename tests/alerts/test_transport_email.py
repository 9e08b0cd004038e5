"""Email through Django's SMTP backend to a real SMTP server: subject, text and HTML parts, and
which SMTP answers are worth another try."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from alerts.choices import NotificationStatus
from alerts.engine import delivery
from alerts.models import AlertRule, Channel, Notification
from alerts.notify.transports import ConfigError, DeliveryError, transport_class
from tests.alerts import factories as f
from tests.alerts.test_messages import alert_json, payload
from tests.fixtures.smtp import SmtpSink

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def email_transport(*to: str) -> Any:
    return transport_class("email").from_channel({"to": list(to)}, "")


def test_a_firing_alert_arrives_with_subject_text_and_html(smtp_sink: SmtpSink) -> None:
    from alerts.notify import messages

    message = messages.render(
        "firing", payload("firing", [alert_json(7, "elra_conferences", severity="critical")]), 99
    )
    result = email_transport("oncall@example.com", "lead@example.com").send(message)

    assert result.status_code == 250
    [mail] = smtp_sink.received
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    assert mail.subject == "[CRITICAL] Firing: Run failed on elra_conferences"
    assert mail.message["X-Confops-Notification"] == "99"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert "ConnectionError: HTTP 503 Service Unavailable" in text
    assert "Acknowledge: http://localhost:8000/alerts/7/" in text
    assert '<a href="http://localhost:8000/alerts/7/"' in html
    assert "<li>Look</li>" in html


def test_a_recipient_refused_with_5xx_is_a_permanent_error(smtp_sink: SmtpSink) -> None:
    from alerts.notify import messages

    smtp_sink.refuse["gone@example.com"] = "550 5.1.1 No such user"
    message = messages.render("firing", payload("firing", [alert_json(1, "elra_conferences")]))
    with pytest.raises(DeliveryError) as caught:
        email_transport("gone@example.com").send(message)
    assert caught.value.permanent and caught.value.status_code == 550
    assert "No such user" in caught.value.reason


def test_a_greylisted_recipient_is_tried_again(smtp_sink: SmtpSink) -> None:
    from alerts.notify import messages

    smtp_sink.refuse["busy@example.com"] = "451 4.7.1 Greylisted, try again later"
    message = messages.render("firing", payload("firing", [alert_json(1, "elra_conferences")]))
    with pytest.raises(DeliveryError) as caught:
        email_transport("busy@example.com").send(message)
    assert not caught.value.permanent and caught.value.status_code == 451


def test_an_unreachable_smtp_server_is_tried_again(settings: Any) -> None:
    from alerts.notify import messages
    from tests.fixtures.dagster import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    message = messages.render("firing", payload("firing", [alert_json(1, "elra_conferences")]))
    with pytest.raises(DeliveryError) as caught:
        email_transport("oncall@example.com").send(message)
    assert not caught.value.permanent


def test_email_config_needs_valid_recipients() -> None:
    transport = transport_class("email")
    with pytest.raises(ConfigError, match="to: is required"):
        transport.parse_config({})
    with pytest.raises(ConfigError, match="'not-an-address' is not an email address"):
        transport.parse_config({"to": ["ops@example.com", "not-an-address"]})
    with pytest.raises(ConfigError, match="give at least one recipient"):
        transport.parse_config({"to": []})
    parsed: Any = transport.parse_config({"to": "a@example.com, b@example.com"})
    assert parsed.to == ["a@example.com", "b@example.com"]


@pytest.mark.django_db
def test_a_channel_with_bad_config_does_not_validate() -> None:
    channel = Channel(name="mail", kind="email", config={"to": ["nope"], "cc": "x"})
    with pytest.raises(ValidationError) as caught:
        channel.full_clean()
    assert caught.value.message_dict["config"] == [
        "to: 'nope' is not an email address",
        "cc: is not a setting of this channel kind",
    ]


@pytest.mark.django_db
def test_a_silence_reminder_is_mailed_to_its_author_without_a_channel(
    smtp_sink: SmtpSink,
) -> None:
    row = Notification.objects.create(
        channel=None,
        event="silence_expiring",
        payload={
            "to": "ana@example.com",
            "silence": {"id": 1, "comment": "elra migration"},
            "ends_at": "2026-11-03T10:00:00+00:00",
        },
        created_at=T0,
        send_after=T0,
    )
    assert delivery.deliver(row.pk, T0).status == delivery.SENT
    [mail] = smtp_sink.received
    assert mail.rcpt_tos == ["ana@example.com"] and "elra migration" in mail.subject


@pytest.mark.django_db
def test_an_email_channel_delivers_an_outbox_row(smtp_sink: SmtpSink) -> None:
    AlertRule.objects.all().delete()
    mail_channel = f.channel("mail", kind="email", config={"to": ["oncall@example.com"]})
    rule = f.rule("Run failed", "run_failed", [mail_channel])
    alert = f.alert(rule, f.source("elra_conferences", f.deployment()), T0)
    row = f.notification(mail_channel, "firing", [alert], T0)
    assert delivery.deliver(row.pk, T0).status == delivery.SENT
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT
    [mail] = smtp_sink.received
    assert mail.subject == "[WARNING] Firing: Run failed on elra_conferences"
