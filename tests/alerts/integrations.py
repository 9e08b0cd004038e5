"""What Slack and PagerDuty post to confops' /integrations/ URLs, built and signed as they build
and sign it: one home for the inbound tests (request URL, Socket Mode, PagerDuty webhooks) and the
two-way end-to-end test."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from alerts.models import Channel, Incident
from confops.accounts.models import AuditEntry
from tests.fixtures.slack_api import TEAM_ID, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
OTTO_SLACK, VERA_SLACK, STRANGER_SLACK = "U0OTTO", "U0VERA", "U0STRANGER"


def press(
    fake: FakeSlack, action_id: str, outage: Incident, user_id: str = OTTO_SLACK, key: str = "r1"
) -> dict[str, Any]:
    """A ``block_actions`` payload as Slack posts it for one of our buttons."""
    alert = outage.alerts.order_by("pk").first()
    value = json.dumps({"incident": outage.pk, "alert": alert.pk if alert else None})
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "confops-test"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "channel": {"id": "C0OPS"},
        "response_url": fake.response_url(key),
        "trigger_id": "123.456.abc",
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }


def signed(
    payload: dict[str, Any], secret: str = SIGNING_SECRET, age: float = 0
) -> tuple[str, dict[str, str]]:
    """The form body and headers Slack sends: ``v0=`` HMAC-SHA256 of ``v0:timestamp:body``."""
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time() - age))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    headers = {
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
        "X-Slack-Request-Timestamp": timestamp,
    }
    return body, headers


def post_press(client: Client, channel: Channel, body: str, headers: dict[str, str]) -> Any:
    """POST a (signed) press to the Slack app channel's request URL; the response."""
    return client.post(
        f"/integrations/slack/{channel.pk}/actions",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def post_webhook(client: Client, channel: Channel, body: bytes, headers: dict[str, str]) -> int:
    """POST a (signed) PagerDuty webhook to the channel's webhook URL; the status code."""
    response = client.post(
        f"/integrations/pagerduty/{channel.pk}/webhook",
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    return int(response.status_code)


def audit_of(obj: Any, action: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk), action=action)
    )


def refusals(fake: FakeSlack, key: str = "r1") -> list[dict[str, Any]]:
    return fake.responses.get(key, [])
