"""PagerDuty through the Events API v2, two-way: one PagerDuty incident per confops incident.

Secret: the integration (routing) key of a PagerDuty service's "Events API v2" integration, 32
characters. Config (optional): ``{"webhook_secret": "..."}``, the signing secret of the v3
webhook subscription that tells confops of acknowledges and resolves done in PagerDuty
(alerts/inbound/pagerduty.py; masked like the key), and ``{"severity_map": {"warning":
"error"}}`` to page with another PagerDuty severity than the same-named one.

Every event about an incident carries one ``dedup_key`` (``confops-incident-<id>``, or the one
the channel's thread already holds), so PagerDuty folds the firing, the updates and reminders
into one incident and the acknowledge and resolve act on it. Firing, update, severity raised,
flapping, reminder and escalation trigger (PagerDuty dedups them); acknowledged acknowledges;
unacknowledged triggers again; resolved resolves. A message older than the one PagerDuty shows
(a late retry) or a state PagerDuty already shows (an acknowledge done there, coming back as
confops' acknowledged message) is not sent.

PagerDuty answers 202 ``{"status": "success", "dedup_key": ...}``; 400 ``invalid event`` is
permanent; 429 (throttled) and 5xx are retried by the outbox, never before ``Retry-After``
(https://developer.pagerduty.com/docs/events-api-v2-overview, /docs/send-alert-event).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from pydantic import field_validator

from alerts.choices import ChannelKind, NotificationEvent, Severity
from alerts.notify.links import absolute
from alerts.notify.messages import Message
from alerts.notify.thread import Thread
from alerts.notify.transports import _http
from alerts.notify.transports.base import Config, SendResult, Transport, register
from confops.common import queues

SUMMARY_MAX_CHARS = 1024
PD_SEVERITIES = frozenset({"critical", "error", "warning", "info"})
TRIGGERED, ACKNOWLEDGED, RESOLVED = "triggered", "acknowledged", "resolved"
# The event action of each message, and the state PagerDuty shows after it.
ACTIONS: dict[str, tuple[str, str]] = {
    NotificationEvent.ACKNOWLEDGED: ("acknowledge", ACKNOWLEDGED),
    NotificationEvent.UNACKNOWLEDGED: ("trigger", TRIGGERED),
    NotificationEvent.RESOLVED: ("resolve", RESOLVED),
}
MEMBERS_LISTED = 20


class PagerDutyConfig(Config):
    webhook_secret: str = ""
    severity_map: dict[str, str] = {}

    @field_validator("severity_map")
    @classmethod
    def known_severities(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(k for k in value if k not in Severity.values)
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a confops severity")
        wrong = sorted(v for v in value.values() if v not in PD_SEVERITIES)
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: PagerDuty takes critical, error, warning, info")
        return value


@register
class PagerDutyTransport(Transport):
    kind = ChannelKind.PAGERDUTY
    queue = queues.DELIVER_PAGING
    label = "PagerDuty (Events API v2, two-way)"
    config_schema = PagerDutyConfig
    config: PagerDutyConfig
    secret_required = True
    secret_help = "the service's Events API v2 integration key (32 characters)"  # noqa: S105 - a help text
    secret_config_keys = frozenset({"webhook_secret"})
    mirrors_incidents = True
    example_secret = "0123456789abcdef0123456789abcdef"  # noqa: S105 - a fake key

    def send(self, message: Message) -> SendResult:
        thread = message.thread or Thread()
        action, state = ACTIONS.get(message.event, ("trigger", TRIGGERED))
        if action == "trigger" and thread.remote_state == ACKNOWLEDGED:
            # PagerDuty folds a trigger into its acknowledged incident, which stays so.
            state = ACKNOWLEDGED if message.event != NotificationEvent.UNACKNOWLEDGED else state
        if not thread.is_newer(message.notification_id) or already_shown(message.event, thread):
            return SendResult(detail="PagerDuty already shows this", thread=thread)
        key = dedup_key(message, thread)
        result = self.post(self.event(message, action, key))
        if message.event == NotificationEvent.TEST:  # leave no open incident behind
            result = self.post(self.event(message, "resolve", key))
        after = Thread(
            reference=key,
            remote_state=state,
            last_notification_id=message.notification_id,
        )
        return SendResult(status_code=result.status_code, detail=result.detail, thread=after)

    def post(self, event: dict[str, Any]) -> SendResult:
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        response = _http.post(settings.PAGERDUTY_EVENTS_URL, body, headers)
        return _http.verdict(response, "PagerDuty")

    def event(self, message: Message, action: str, key: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "routing_key": self.secret,
            "event_action": action,
            "dedup_key": key,
        }
        if action == "trigger":
            event.update(
                payload=trigger_payload(message, self.severity(message.severity)),
                links=links(message),
                client="confops",
                client_url=absolute(""),
            )
        return event

    def severity(self, severity: str) -> str:
        mapped = self.config.severity_map.get(severity, severity)
        return mapped if mapped in PD_SEVERITIES else "info"


def already_shown(event: str, thread: Thread) -> bool:
    """A state change PagerDuty already shows (done there, told back to us): not sent again."""
    if event not in ACTIONS:
        return False
    return thread.remote_state == ACTIONS[event][1]


def dedup_key(message: Message, thread: Thread) -> str:
    """One key per incident: the thread's, else ``confops-incident-<id>``; a message about no
    incident gets its own (``confops-<event>-<notification id>``)."""
    if thread.reference:
        return thread.reference
    incident = message.payload.get("incident") or {}
    if incident.get("id"):
        return f"confops-incident-{incident['id']}"
    return f"confops-{message.event}-{message.notification_id or 0}"


def trigger_payload(message: Message, severity: str) -> dict[str, Any]:
    first = message.first
    incident = message.payload.get("incident") or {}
    summary = message.subject or message.headline or "confops"
    details: dict[str, Any] = {
        "event": message.event,
        "rule": message.rule,
        "members": [
            {"source": a.source, "severity": a.severity, "summary": a.summary}
            for a in message.alerts[:MEMBERS_LISTED]
        ],
        "more_members": max(len(message.alerts) - MEMBERS_LISTED, 0),
    }
    if first and first.error:
        details["error"] = first.error
    if incident.get("url"):
        details["incident_url"] = incident["url"]
    return {
        "summary": summary[:SUMMARY_MAX_CHARS],
        "source": (first.source if first else "") or "confops",
        "severity": severity,
        "timestamp": message.payload.get("at"),
        "component": first.source if first else None,
        "group": (first.deployment or None) if first else None,
        "class": str((message.payload.get("rule") or {}).get("kind") or message.event),
        "custom_details": details,
    }


def links(message: Message) -> list[dict[str, str]]:
    incident = message.payload.get("incident") or {}
    first = message.first
    found = [
        (incident.get("url") or (first.url if first else ""), "Incident in confops"),
        (message.runbook.url if message.runbook else "", "Runbook"),
        (first.run_url if first else "", "Dagster run"),
    ]
    return [{"href": href, "text": text} for href, text in found if href]
