"""A generic JSON webhook: a documented, versioned payload, optionally signed with HMAC-SHA256.

Config: ``{"url": "https://receiver.example.com/confops", "headers": {"X-Team": "data"}}``. The
URL and the header values are secrets too (a receiver's token often sits in the URL's path or
query, or in an ``Authorization`` header): they are shown masked, and a form that comes back
with them masked keeps the stored ones. They stay in ``config`` rather than moving into
``Channel.secret``, which is the signing key: one plain string per channel keeps the secret
field the same for every kind, and the transport names its own secret keys.
Secret (optional): the shared signing key. The payload (version 1) and the signature recipe are
documented in docs/notifications.md; in short, with a secret every request carries

    X-Confops-Timestamp: 1767225600
    X-Confops-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>

and every request carries ``X-Confops-Delivery`` (the notification id, the same on a repeat of
the same message: receivers dedupe on it) and ``X-Confops-Event``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

from pydantic import field_validator

from alerts.choices import ChannelKind
from alerts.notify.messages import AlertLine, Message
from alerts.notify.transports import _http
from alerts.notify.transports.base import Config, SendResult, Transport, register
from confops.common import queues

PAYLOAD_VERSION = 1
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "x-confops-signature", "x-confops-timestamp"}
)


class WebhookConfig(Config):
    url: str
    headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def own_headers(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(h for h in value if h.lower() in RESERVED_HEADERS)
        if reserved:
            raise ValueError(f"{', '.join(reserved)} are set by confops")
        return value


@register
class WebhookTransport(Transport):
    kind = ChannelKind.WEBHOOK
    queue = queues.DELIVER_WEBHOOK
    label = "Webhook (JSON)"
    config_schema = WebhookConfig
    config: WebhookConfig
    secret_help = "optional HMAC-SHA256 signing key shared with the receiver"  # noqa: S105 - a help text
    secret_config_keys = frozenset({"url", "headers"})
    example_config = {"url": "https://receiver.example.com/confops"}

    def send(self, message: Message) -> SendResult:
        body = json.dumps(build_payload(message), separators=(",", ":")).encode()
        headers = {
            **self.config.headers,
            "Content-Type": "application/json; charset=utf-8",
            "X-Confops-Event": message.event,
            "X-Confops-Delivery": str(message.notification_id or ""),
        }
        if self.secret:
            headers.update(signature_headers(self.secret, body, int(time.time())))
        return _http.verdict(_http.post(self.config.url, body, headers), "the webhook")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "X-Confops-Timestamp": str(timestamp),
        "X-Confops-Signature": signature(secret, timestamp, body),
    }


def build_payload(message: Message) -> dict[str, Any]:
    """Version 1 of the webhook body (docs/notifications.md). Add fields freely; renaming or
    removing one needs version 2."""
    runbook = message.runbook
    return {
        "version": PAYLOAD_VERSION,
        "id": message.notification_id,
        "event": message.event,
        "severity": message.severity,
        "title": message.subject,
        "text": message.text,
        "rule": message.payload.get("rule"),
        "sources": message.sources,
        "alerts": [alert_json(a) for a in message.alerts],
        "runbook": (
            {"title": runbook.title, "url": runbook.url, "steps": runbook.steps}
            if runbook
            else None
        ),
        "created_at": message.payload.get("at"),
        "data": None if message.is_about_alerts else message.payload,
    }


def alert_json(alert: AlertLine) -> dict[str, Any]:
    return {
        "id": alert.id,
        "url": alert.url,
        "source": alert.source,
        "severity": alert.severity,
        "summary": alert.summary,
        "error": alert.error,
        "run_id": alert.run_id,
        "run_url": alert.run_url,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "duration_s": alert.duration_s,
        "since": alert.since_at,
        "last_success_at": alert.last_success_at,
        "failed_runs": alert.failed_runs,
        "deployment": alert.deployment or None,
        "downstream": alert.downstream,
        "downstream_more": alert.downstream_more,
    }
