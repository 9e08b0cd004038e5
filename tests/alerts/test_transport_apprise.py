"""The long tail through Apprise: 100+ kinds, each saved with an example URL of its own scheme,
and real messages through two of them (a JSON webhook and e-mail over SMTP) to local receivers,
with the outbox, not Apprise, doing the retries and the URL's secrets kept out of every text."""

from __future__ import annotations

import base64
import html
import json
import logging
from datetime import UTC, datetime
from typing import Any

import apprise
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from alerts.choices import NotificationStatus, Severity
from alerts.engine import delivery
from alerts.models import Channel, DeliveryAttempt
from alerts.notify import messages
from alerts.notify.transports import DeliveryError, all_transports, transport_class
from alerts.notify.transports._http import CONNECT_TIMEOUT_SECONDS
from alerts.notify.transports.apprise_kinds import (
    GENERIC_KIND,
    SERVICE_TABLE,
    SERVICE_TRANSPORTS,
    AppriseTransport,
    bounded,
    live_services,
    service_table,
)
from tests.alerts.test_delivery import no_jitter, outbox_row, reload
from tests.alerts.test_messages import alert_json, payload
from tests.fixtures.http import HttpResponder
from tests.fixtures.smtp import SmtpAuthSink

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
PASSWORD = "hunter2-s3cret-pw"
APPRISE_KINDS = sorted(kind for kind in all_transports() if kind.startswith(GENERIC_KIND))


def apprise_kind(kind: str) -> type[AppriseTransport]:
    transport = transport_class(kind)
    assert issubclass(transport, AppriseTransport)
    return transport


def json_url(responder: HttpResponder, query: str = "") -> str:
    host = responder.url.removeprefix("http://")
    return f"json://confops:{PASSWORD}@{host}/hook" + (f"?{query}" if query else "")


def channel(kind: str, url: str, name: str = "long tail") -> Channel:
    return Channel.objects.create(name=name, kind=kind, secret=url, min_severity=Severity.INFO)


# --- the kinds ------------------------------------------------------------------------------


def test_at_least_100_apprise_kinds_are_registered_with_their_facts() -> None:
    services = [apprise_kind(kind).service for kind in APPRISE_KINDS]
    assert len([s for s in services if s is not None]) >= 100
    assert apprise_kind(GENERIC_KIND).label == "Any Apprise URL"
    discord = apprise_kind("apprise-discord")
    assert discord.label == "Discord (Apprise)" and discord.secret_required
    assert discord.service is not None and discord.service.schemes == {"discord"}
    assert discord.service.setup_url.startswith("https://")
    assert all(len(kind) <= 60 for kind in APPRISE_KINDS)


@pytest.mark.parametrize("kind", APPRISE_KINDS)
def test_every_apprise_kind_saves_with_an_example_url_of_its_scheme(kind: str) -> None:
    transport = apprise_kind(kind)
    config, url = transport.example()
    assert url, f"{kind} has no example URL"
    if transport.service is not None:
        assert url.split("://")[0] in transport.service.schemes
    Channel(name=kind, kind=kind, config=config, secret=url).full_clean()


def test_the_admin_creates_an_apprise_channel_and_shows_its_url_masked(
    admin_client: Client,
) -> None:
    url = f"discord://123456789012345678/{PASSWORD}-abcdefghijklmnop"
    form = {
        "name": "team chat",
        "kind": "apprise-discord",
        "enabled": "on",
        "min_severity": "warning",
        "route_owners": "[]",
        "route_tags": "[]",
        "config": "{}",
        "secret": url,
    }
    assert admin_client.post("/admin/alerts/channel/add/", form).status_code == 302
    saved = Channel.objects.get(name="team chat")
    assert saved.secret == url
    page = admin_client.get(f"/admin/alerts/channel/{saved.pk}/change/").content.decode()
    assert PASSWORD not in page and "Discord (Apprise)" in page


def test_a_url_of_another_service_is_refused_naming_the_expected_scheme() -> None:
    bad = Channel(name="x", kind="apprise-discord", secret="tgram://123456789:abcdefghijk/42")
    with pytest.raises(ValidationError) as raised:
        bad.full_clean()
    [message] = raised.value.message_dict["secret"]
    assert message == "must be an Apprise URL starting discord:// for Discord"


def test_an_unparseable_url_is_refused_with_apprises_reason_redacted() -> None:
    bad = Channel(name="x", kind="apprise-tgram", secret=f"tgram://{PASSWORD}/42")
    with pytest.raises(ValidationError) as raised:
        bad.full_clean()
    [message] = raised.value.message_dict["secret"]
    assert message.startswith("is not a valid Apprise URL (tgram:// for Telegram)")
    assert PASSWORD not in message


def test_the_generic_kind_takes_any_service_and_refuses_nonsense() -> None:
    Channel(name="a", kind=GENERIC_KIND, secret="ntfy://ntfy.example.com/oncall").full_clean()
    with pytest.raises(ValidationError) as raised:
        Channel(name="b", kind=GENERIC_KIND, secret="nonsense://x").full_clean()
    assert "not a valid Apprise URL" in raised.value.message_dict["secret"][0]
    with pytest.raises(ValidationError) as raised:
        Channel(name="c", kind=GENERIC_KIND, secret="").full_clean()
    assert "required for Any Apprise URL" in raised.value.message_dict["secret"][0]


# --- a JSON receiver --------------------------------------------------------------------------


def test_a_firing_alert_reaches_a_json_receiver_as_apprise_sends_it(
    http_responder: HttpResponder,
) -> None:
    row = outbox_row(channel("apprise-json", json_url(http_responder)))
    assert delivery.deliver(row.pk, T0).status == delivery.SENT

    [request] = http_responder.requests
    assert request.path == "/hook"
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(f"confops:{PASSWORD}".encode()).decode()
    )
    body = request.json()
    message = messages.render(row.event, row.payload, row.pk)
    assert body == {
        "version": "1.0",
        "title": message.subject,
        "message": message.text.rstrip(),  # Apprise trims the body
        "attachments": [],
        "type": "warning",
    }
    assert reload(row).status == NotificationStatus.SENT


@pytest.mark.parametrize(
    ("event", "severity", "expected"),
    [
        ("firing", Severity.CRITICAL, "failure"),
        ("firing", Severity.WARNING, "warning"),
        ("firing", Severity.INFO, "info"),
        ("resolved", Severity.CRITICAL, "success"),
    ],
)
def test_the_apprise_type_follows_severity_and_a_resolve_is_a_success(
    http_responder: HttpResponder, event: str, severity: str, expected: str
) -> None:
    raw = alert_json(7, "elra_conferences", severity=severity)
    message = messages.render(event, payload(event, [raw]), 31)
    apprise_kind("apprise-json").from_channel({}, json_url(http_responder)).send(message)
    assert http_responder.requests[0].json()["type"] == expected


def test_a_500_is_retried_by_the_outbox_once_not_by_apprise(
    http_responder: HttpResponder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http_responder.respond(500, "oops")
    http_responder.respond(200, "{}")
    # The URL asks Apprise for retries of its own; the outbox's are the only ones kept.
    row = outbox_row(channel("apprise-json", json_url(http_responder, "retry=3&wait=0")))

    first = delivery.deliver(row.pk, T0, rng=no_jitter)
    assert first.status == delivery.RETRY and first.retry_at is not None
    assert len(http_responder.requests) == 1
    assert delivery.deliver(row.pk, first.retry_at).status == delivery.SENT
    assert delivery.deliver(row.pk, first.retry_at).status == delivery.SKIPPED

    sent = reload(row)
    assert sent.status == NotificationStatus.SENT and sent.attempts == 2
    assert len(http_responder.requests) == 2  # the 500 and the one delivery
    failed, ok = DeliveryAttempt.objects.filter(notification=row).order_by("number")
    assert (failed.ok, failed.permanent, ok.ok) == (False, False, True)
    assert "500" in failed.error
    assert PASSWORD not in failed.error + sent.error + caplog.text


def test_an_unreachable_receiver_is_transient_and_its_reason_keeps_the_password_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = apprise_kind("apprise-json").from_channel({}, f"json://u:{PASSWORD}@127.0.0.1:9/")
    message = messages.render("firing", payload("firing", [alert_json(1, "elra")]), 1)
    with pytest.raises(DeliveryError) as raised:
        transport.send(message)
    assert not raised.value.permanent
    assert "Connection error" in raised.value.reason
    assert PASSWORD not in raised.value.reason + caplog.text


def test_a_url_that_no_longer_parses_fails_at_once(http_responder: HttpResponder) -> None:
    saved = channel("apprise-json", json_url(http_responder))
    Channel.objects.filter(pk=saved.pk).update(kind="apprise-tgram", secret=f"tgram://{PASSWORD}")
    row = outbox_row(Channel.objects.get(pk=saved.pk))

    assert delivery.deliver(row.pk, T0).status == delivery.FAILED
    failed = reload(row)
    assert failed.attempts == 1 and "channel misconfigured" in failed.error
    assert PASSWORD not in failed.error
    assert http_responder.requests == []


# --- e-mail over SMTP ---------------------------------------------------------------------------


def test_a_test_message_reaches_an_smtp_server_through_mailto(
    smtp_auth_sink: SmtpAuthSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = (
        f"mailto://bob:{PASSWORD}@{smtp_auth_sink.host}:{smtp_auth_sink.port}"
        "?from=confops@example.com&to=oncall@example.com&mode=insecure"
    )
    mail = channel("apprise-mailto", url, name="on-call mail")

    outcome = delivery.send_test(mail, T0, requested_by="alice")

    assert outcome.status == delivery.SENT
    [received] = smtp_auth_sink.received
    assert received.rcpt_tos == ["oncall@example.com"]
    assert "test" in received.subject.lower()
    assert smtp_auth_sink.logins == [("bob", PASSWORD)]
    assert PASSWORD not in caplog.text
    assert html.unescape(received.part("text/plain")).strip()


def test_apprise_log_lines_reach_our_logs_with_the_urls_secrets_masked(
    http_responder: HttpResponder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "path-token-0123456789abcdef"
    url = f"json://{http_responder.url.removeprefix('http://')}/hooks/{token}"
    message = messages.render("firing", payload("firing", [alert_json(1, "elra")]), 1)
    apprise_kind("apprise-json").from_channel({}, url).send(message)

    assert http_responder.requests[0].path == f"/hooks/{token}"
    apprise_lines = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert any("JSON POST URL" in line for line in apprise_lines)  # Apprise quotes the URL
    assert token not in caplog.text


def test_apprise_timeouts_are_capped_by_ours_and_its_retries_are_off(settings: Any) -> None:
    settings.NOTIFICATION_HTTP_TIMEOUT_SECONDS = 3.0
    plugin = apprise.Apprise.instantiate("json://example.com/?rto=60&cto=60&retry=5")
    assert plugin is not None and plugin.retry == 5
    bounded(plugin)
    assert (plugin.retry, plugin.socket_read_timeout) == (0, 3.0)
    assert plugin.socket_connect_timeout == CONNECT_TIMEOUT_SECONDS


def test_the_service_table_is_what_the_installed_apprise_offers() -> None:
    """The kinds are built from a generated table (no Apprise import at start-up); after an
    Apprise upgrade, ``manage.py channel_kinds --write`` regenerates it."""
    table = SERVICE_TABLE.read_text()
    assert table == service_table(live_services()), "run manage.py channel_kinds --write"
    kinds = {t.kind for t in SERVICE_TRANSPORTS}
    assert {f"apprise-{row['first_scheme']}" for row in json.loads(table)} >= kinds
