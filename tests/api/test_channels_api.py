"""/api/v1/channel-kinds and /api/v1/channels: every kind listed, channels read by viewers with
their secrets masked, changed by admins only through the admin's validation and audited
(masked), a masked secret sent back kept, and a test message sent to a real local receiver."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alerts.models import Channel, Notification
from alerts.notify.transports import Transport, all_transports
from confops.accounts.models import AuditEntry
from tests.api.conftest import Api
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db

HOOK_TOKEN = "tok-9f8e7d6c5b4a"
SIGNING_KEY = "signing-key-0123456789"
AUTH_HEADER = "Bearer hdr-5a5a5a5a5a5a"


def hook(url: str = f"https://hooks.example/in?token={HOOK_TOKEN}", **fields: Any) -> Channel:
    fields.setdefault("name", "ops-hook")
    return Channel.objects.create(
        kind="webhook",
        config={"url": url, "headers": {"Authorization": AUTH_HEADER}},
        secret=SIGNING_KEY,
        **fields,
    )


def assert_no_secret(text: str) -> None:
    for secret in (HOOK_TOKEN, SIGNING_KEY, AUTH_HEADER, "hdr-5a5a5a5a5a5a"):
        assert secret not in text


def test_every_registered_kind_is_listed_with_its_schema_secret_and_example(
    reader_api: Api,
) -> None:
    response = reader_api.get("/channel-kinds", limit=200)

    assert response.status_code == 200
    body = response.json()
    listed = {kind["kind"]: kind for kind in body["results"]}
    assert body["count"] == len(all_transports()) and set(listed) <= set(all_transports())
    labels = [kind["label"].lower() for kind in body["results"]]
    assert labels == sorted(labels)
    webhook = listed["webhook"]
    assert webhook["secret_config_keys"] == ["headers", "url"]
    assert webhook["secret_required"] is False and webhook["two_way"] is False
    assert webhook["config_schema"]["required"] == ["url"]
    assert webhook["example"]["config"] == {"url": "https://receiver.example.com/confops"}
    slack = listed["slack"]
    assert slack["secret_required"] is True and "incoming webhook URL" in slack["secret_help"]


def test_the_kinds_are_paged_like_every_list(reader_api: Api) -> None:
    first = reader_api.get("/channel-kinds", limit=1).json()

    assert len(first["results"]) == 1 and first["count"] == len(all_transports())
    assert (first["next"] is not None) == (len(all_transports()) > 1)


def test_a_viewer_reads_channels_with_every_secret_masked(reader_api: Api) -> None:
    channel = hook()

    listed = reader_api.get("/channels")
    one = reader_api.get(f"/channels/{channel.pk}")

    assert listed.status_code == one.status_code == 200
    assert listed.json()["results"] == [one.json()]
    body = one.json()
    assert body["config"] == {
        "url": "https://hooks.example/[redacted]",
        "headers": {"Authorization": "••••5a5a"},
    }
    assert body["secret"] == "••••6789" and body["secret_set"] is True
    assert body["kind_label"] == "Webhook (JSON)" and body["two_way"] is False
    assert_no_secret(listed.content.decode() + one.content.decode())
    assert reader_api.get("/channels/999999").status_code == 404


def test_the_list_filters_by_kind(reader_api: Api) -> None:
    hook()
    Channel.objects.create(name="ops-mail", kind="email", config={"to": ["a@example.com"]})

    names = [c["name"] for c in reader_api.get("/channels", kind="email").json()["results"]]

    assert names == ["ops-mail"]


@pytest.mark.parametrize("who", ["reader_api", "operator_api"])
def test_only_an_admin_may_create_change_delete_or_test_a_channel(
    who: str, request: pytest.FixtureRequest
) -> None:
    api: Api = request.getfixturevalue(who)
    channel = hook()

    answers = [
        api.post("/channels", {"name": "x", "kind": "email", "config": {"to": ["a@b.co"]}}),
        api.patch(f"/channels/{channel.pk}", {"enabled": False}),
        api.delete(f"/channels/{channel.pk}"),
        api.post(f"/channels/{channel.pk}/test"),
    ]

    assert [a.status_code for a in answers] == [403] * 4
    assert [c.name for c in Channel.objects.all()] == ["ops-hook"]
    assert Channel.objects.get().enabled and not Notification.objects.exists()
    assert not AuditEntry.objects.filter(object_type="alerts.Channel").exists()


def test_an_admin_creates_a_channel_audited_with_its_secrets_masked(
    admin_api: Api, admin_token: Any
) -> None:
    body = {
        "name": "ops-hook",
        "kind": "webhook",
        "config": {
            "url": f"https://hooks.example/in?token={HOOK_TOKEN}",
            "headers": {"Authorization": AUTH_HEADER},
        },
        "secret": SIGNING_KEY,
        "min_severity": "critical",
        "route_tags": ["domain=retail"],
    }

    response = admin_api.post("/channels", body)

    assert response.status_code == 201, response.json()
    assert_no_secret(response.content.decode())
    channel = Channel.objects.get(name="ops-hook")
    assert channel.secret == SIGNING_KEY and channel.config == body["config"]
    assert channel.min_severity == "critical" and channel.route_tags == ["domain=retail"]
    entry = AuditEntry.objects.get(
        object_type="alerts.Channel", action="created", object_id=str(channel.pk)
    )
    assert_no_secret(json.dumps(entry.changes))
    assert entry.changes["secret"] == [None, "••••6789"]
    assert entry.actor is not None and entry.actor.username == "ada-admin"
    assert entry.actor_label == f"API token thresholds-ci ({admin_token[0].prefix}…)"


def test_a_patch_with_the_masked_values_as_read_keeps_the_stored_secrets(admin_api: Api) -> None:
    channel = hook()
    read = admin_api.get(f"/channels/{channel.pk}").json()

    response = admin_api.patch(
        f"/channels/{channel.pk}",
        {"config": read["config"], "secret": read["secret"], "min_severity": "critical"},
    )

    assert response.status_code == 200, response.json()
    channel.refresh_from_db()
    assert channel.secret == SIGNING_KEY
    assert channel.config == {
        "url": f"https://hooks.example/in?token={HOOK_TOKEN}",
        "headers": {"Authorization": AUTH_HEADER},
    }
    entry = AuditEntry.objects.get(
        object_type="alerts.Channel", action="changed", object_id=str(channel.pk)
    )
    assert entry.changes == {"min_severity": ["warning", "critical"]}


def test_a_patch_replaces_a_secret_sent_in_full_and_audits_it_masked(admin_api: Api) -> None:
    channel = hook()

    response = admin_api.patch(
        f"/channels/{channel.pk}",
        {"config": {"url": "https://other.example/hook/new-path-secret"}, "secret": ""},
    )

    assert response.status_code == 200, response.json()
    channel.refresh_from_db()
    assert channel.config == {"url": "https://other.example/hook/new-path-secret"}
    assert channel.secret == "" and response.json()["secret_set"] is False
    entry = AuditEntry.objects.get(
        object_type="alerts.Channel", action="changed", object_id=str(channel.pk)
    )
    assert "new-path-secret" not in json.dumps(entry.changes)
    assert_no_secret(json.dumps(entry.changes))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "email", "config": {}}, "config.to", "is required"),
        ({"kind": "email", "config": {"to": ["nobody"]}}, "config.to", "'nobody' is not an email"),
        ({"kind": "webhook", "config": {"url": "hooks"}}, "config.url", "must be an http"),
        ({"kind": "webhook", "config": {"url": "https://x.example", "tls": 1}}, "config.tls", ""),
        ({"kind": "slack", "config": {}}, "secret", "required for Slack (incoming webhook)"),
        ({"kind": "nope"}, "kind", "Value 'nope' is not a valid choice."),
        ({"kind": "email", "name": "ops-hook"}, "name", "already exists"),
        ({"kind": "email", "route_tags": ["=x"]}, "route_tags", "key=value"),
        ({"kind": "email", "min_severity": "loud"}, "min_severity", "Input should be"),
        ({"kind": "email", "enabled": None}, "enabled", "may not be null"),
        ({"kind": "email", "secrets": "x"}, "secrets", "is not a field of this request"),
    ],
)
def test_an_invalid_channel_is_a_400_naming_the_field_and_nothing_is_saved(
    admin_api: Api, body: dict[str, Any], field: str, message: str
) -> None:
    hook()
    audited = AuditEntry.objects.count()

    response = admin_api.post("/channels", {"name": "new", "config": {"to": ["a@b.co"]}, **body})

    assert response.status_code == 400, response.json()
    assert message in response.json()["fields"][field]
    assert list(Channel.objects.values_list("name", flat=True)) == ["ops-hook"]
    assert AuditEntry.objects.count() == audited


def test_an_invalid_patch_changes_nothing(admin_api: Api) -> None:
    channel = hook()

    response = admin_api.patch(f"/channels/{channel.pk}", {"config": {"url": "ftp://x"}})

    assert response.status_code == 400
    assert response.json()["fields"] == {"config.url": "must be an http:// or https:// URL"}
    assert_no_secret(response.content.decode())
    channel.refresh_from_db()
    assert channel.config["url"] == f"https://hooks.example/in?token={HOOK_TOKEN}"


def test_deleting_a_channel_is_audited_masked(admin_api: Api) -> None:
    channel = hook()

    response = admin_api.delete(f"/channels/{channel.pk}")

    assert response.status_code == 204 and not Channel.objects.exists()
    entry = AuditEntry.objects.get(
        object_type="alerts.Channel", action="deleted", object_id=str(channel.pk)
    )
    assert entry.changes["name"] == "ops-hook"
    assert_no_secret(json.dumps(entry.changes))
    assert admin_api.delete(f"/channels/{channel.pk}").status_code == 404


def test_a_test_message_reaches_a_local_webhook_receiver(
    admin_api: Api, http_responder: HttpResponder
) -> None:
    channel = hook(f"{http_responder.url}/hook?token={HOOK_TOKEN}")

    response = admin_api.post(f"/channels/{channel.pk}/test")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "sent" and body["error"] == ""
    [request] = http_responder.requests
    assert request.path == f"/hook?token={HOOK_TOKEN}"
    assert request.json()["event"] == "test" and "ada-admin" in request.json()["text"]
    assert request.headers["X-Confops-Signature"].startswith("v1=")
    assert Notification.objects.get(pk=body["notification_id"]).channel == channel


def test_a_failed_test_message_answers_the_error_without_the_secret(
    admin_api: Api, http_responder: HttpResponder
) -> None:
    quoted = f"no hook at /hook?token={HOOK_TOKEN}"  # a receiver quoting the request
    http_responder.respond(401, quoted, content_type="text/plain")
    channel = hook(f"{http_responder.url}/hook?token={HOOK_TOKEN}")

    body = admin_api.post(f"/channels/{channel.pk}/test").json()

    assert body["status"] == "failed" and "401" in body["error"]
    assert_no_secret(body["error"])
    assert len(http_responder.requests) == 1  # a test is never retried


def example_body(transport: type[Transport]) -> dict[str, Any]:
    config, secret = transport.example()
    return {
        "name": f"every-{transport.kind}"[:100],
        "kind": transport.kind,
        "config": config,
        "secret": secret,
    }


@pytest.mark.parametrize("kind", sorted(all_transports()))
def test_every_registered_kind_can_be_created_from_its_example(admin_api: Api, kind: str) -> None:
    transport = all_transports()[kind]

    response = admin_api.post("/channels", example_body(transport))

    assert response.status_code == 201, response.json()
    channel = Channel.objects.get(kind=kind)
    assert channel.transport().config == transport.parse_config(*transport.example())
