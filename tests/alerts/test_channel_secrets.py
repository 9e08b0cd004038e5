"""A channel's secrets (a Slack webhook URL, a signing key, a webhook's URL and headers) are shown
masked to every reader of the admin and the audit trail: an Operator who may only view, an admin
editing the channel, the list, the search, the history and the delete page; and editing a
channel without retyping them keeps them working."""

from __future__ import annotations

import html
import importlib
import json
import re
from typing import Any

import pytest
from django.test import Client

from alerts.models import Channel
from confops.accounts.models import AuditEntry
from tests.alerts import factories as f
from tests.fixtures.http import HttpResponder
from tests.fixtures.personas import logged_in

pytestmark = pytest.mark.django_db
SLACK_SECRET = "SlackPathSecret0123456789"
HMAC_KEY = "HmacSigningKey0123456789"
URL_SECRET = "UrlPathSecret0123456789"
HEADER_SECRET = "HeaderTokenSecret0123456789"
SECRETS = (SLACK_SECRET, HMAC_KEY, URL_SECRET, HEADER_SECRET)


def webhook(url: str = "https://receiver.example.com") -> Channel:
    return f.channel(
        "hook",
        kind="webhook",
        config={
            "url": f"{url}/hooks/{URL_SECRET}",
            "headers": {"Authorization": f"Bearer {HEADER_SECRET}", "X-Team": "data"},
        },
        secret=HMAC_KEY,
    )


def slack() -> Channel:
    return f.channel("slack", secret=f"https://hooks.slack.com/services/T/B/{SLACK_SECRET}")


@pytest.fixture
def staff_operator_client(operator_user: Any) -> Client:
    """Otto, an Operator (view_channel, view_deployment) with a login to the admin."""
    operator_user.is_staff = True
    operator_user.save(update_fields=["is_staff"])
    return logged_in(operator_user)


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_a_view_only_operator_sees_every_channel_secret_masked(
    staff_operator_client: Client,
) -> None:
    channels = [slack(), webhook()]
    listing = staff_operator_client.get("/admin/alerts/channel/")
    assert listing.status_code == 200 and not leaked(listing.content.decode())
    for channel in channels:
        base = f"/admin/alerts/channel/{channel.pk}"
        page = staff_operator_client.get(f"{base}/change/")
        text = page.content.decode()
        assert page.status_code == 200 and not leaked(text)
        assert "••••" in text  # the secret is there, masked
        history = staff_operator_client.get(f"{base}/history/").content.decode()
        assert not leaked(history)
    hook_page = staff_operator_client.get(f"/admin/alerts/channel/{channels[1].pk}/change/")
    assert "https://receiver.example.com/[redacted]" in hook_page.content.decode()


def test_searching_the_channel_list_for_a_secret_finds_nothing(admin_client: Client) -> None:
    """A search that matched a secret would tell it one character at a time."""
    webhook()
    response = admin_client.get("/admin/alerts/channel/", {"q": URL_SECRET[:8]})
    assert response.context["cl"].result_count == 0


def test_the_delete_page_shows_no_secret(admin_client: Client) -> None:
    channel = webhook()
    page = admin_client.get(f"/admin/alerts/channel/{channel.pk}/delete/").content.decode()
    assert "Are you sure" in page and not leaked(page)


def test_an_admin_editing_a_webhook_sees_its_url_and_headers_masked(
    admin_client: Client,
) -> None:
    channel = webhook()
    page = admin_client.get(f"/admin/alerts/channel/{channel.pk}/change/").content.decode()
    assert not leaked(page)
    shown = json.loads(config_in(page))
    assert shown["url"] == "https://receiver.example.com/[redacted]"
    assert set(shown["headers"]) == {"Authorization", "X-Team"}


def config_in(page: str) -> str:
    match = re.search(r'<textarea name="config"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "the config field is on the form"
    return html.unescape(match.group(1)).strip()


def form_data(config: str, **overrides: str) -> dict[str, str]:
    """The change form as posted, with the config text as given (as shown, or edited)."""
    data = {
        "name": "hook",
        "kind": "webhook",
        "enabled": "on",
        "min_severity": "info",
        "config": config,
        "secret": "",
    }
    data.update(overrides)
    return data


def test_saving_the_form_as_shown_keeps_the_url_headers_and_key_working(
    admin_client: Client, http_responder: HttpResponder
) -> None:
    channel = webhook(http_responder.url)
    stored = dict(channel.config)
    url = f"/admin/alerts/channel/{channel.pk}/change/"
    page = admin_client.get(url).content.decode()
    saved = admin_client.post(url, form_data(config_in(page), min_severity="critical"))
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert channel.config == stored and channel.secret == HMAC_KEY
    assert channel.min_severity == "critical"

    admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_message", "_selected_action": [channel.pk]},
    )
    [request] = http_responder.requests
    assert request.path == f"/hooks/{URL_SECRET}"
    assert request.headers["Authorization"] == f"Bearer {HEADER_SECRET}"
    assert request.headers["X-Confops-Signature"].startswith("v1=")


def test_a_new_header_value_typed_over_the_mask_is_taken(admin_client: Client) -> None:
    channel = webhook()
    url = f"/admin/alerts/channel/{channel.pk}/change/"
    shown = json.loads(config_in(admin_client.get(url).content.decode()))
    shown["headers"]["X-Team"] = "platform"
    admin_client.post(url, form_data(json.dumps(shown)))
    channel.refresh_from_db()
    assert channel.config["headers"] == {
        "Authorization": f"Bearer {HEADER_SECRET}",
        "X-Team": "platform",
    }
    assert channel.config["url"] == f"https://receiver.example.com/hooks/{URL_SECRET}"


def test_the_audit_trail_keeps_a_webhooks_url_and_headers_masked(admin_client: Client) -> None:
    config = {
        "url": f"https://receiver.example.com/hooks/{URL_SECRET}",
        "headers": {"Authorization": f"Bearer {HEADER_SECRET}"},
    }
    created = admin_client.post(
        "/admin/alerts/channel/add/",
        {
            "name": "hook",
            "kind": "webhook",
            "enabled": "on",
            "min_severity": "info",
            "config": json.dumps(config),
            "secret": HMAC_KEY,
        },
    )
    assert created.status_code == 302
    channel = Channel.objects.get(name="hook")
    moved = {**config, "url": f"https://other.example.com/hooks/{URL_SECRET}x"}
    admin_client.post(
        f"/admin/alerts/channel/{channel.pk}/change/",
        form_data(json.dumps(moved)),
    )
    entries = AuditEntry.objects.filter(object_type="alerts.Channel").order_by("at", "pk")
    assert [e.action for e in entries] == ["created", "changed"]
    assert not leaked(json.dumps([e.changes for e in entries]))
    assert entries[1].changes["config"][1]["url"] == "https://other.example.com/[redacted]"
    trail = admin_client.get(f"/admin/accounts/auditentry/{entries[0].pk}/change/").content.decode()
    assert not leaked(trail)


def test_the_migration_redacts_errors_and_audit_entries_stored_before_the_fix() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from alerts.models import DeliveryAttempt, Notification
    from tests.alerts.test_delivery import T0, outbox_row

    hook, chat = webhook(), slack()
    quoted = f"ConnectionError: Max retries exceeded with url: /hooks/{URL_SECRET}"
    rows = [outbox_row(hook), outbox_row(chat, source="other")]
    Notification.objects.filter(pk=rows[0].pk).update(error=quoted)
    Notification.objects.filter(pk=rows[1].pk).update(error=f"refused /services/T/B/{SLACK_SECRET}")
    DeliveryAttempt.objects.create(notification=rows[0], number=1, started_at=T0, error=quoted)
    AuditEntry.objects.create(
        at=T0,
        action="changed",
        object_type="alerts.Channel",
        object_id=str(hook.pk),
        object_repr="hook",
        changes={"config": [None, hook.config], "enabled": [False, True]},
    )

    migration = importlib.import_module("alerts.migrations.0007_redact_stored_channel_secrets")
    state = MigrationExecutor(connection).loader.project_state(
        ("alerts", "0007_redact_stored_channel_secrets")
    )
    migration.redact(state.apps, None)

    stored = [*Notification.objects.values_list("error", flat=True)]
    stored += [*DeliveryAttempt.objects.values_list("error", flat=True)]
    stored.append(json.dumps(list(AuditEntry.objects.values_list("changes", flat=True))))
    assert not leaked(" ".join(stored))
    assert "Max retries exceeded" in stored[0] + stored[1]
    entry = AuditEntry.objects.get(object_id=str(hook.pk), action="changed")
    assert entry.changes["config"][1]["url"] == "https://receiver.example.com/[redacted]"
    assert entry.changes["enabled"] == [False, True]
