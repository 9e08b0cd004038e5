"""Slack through a Slack app (two-way): one root message per incident, edited as it changes.

Secret: the app's bot token (``xoxb-...``). Config: ``channel`` (the Slack channel id the app
posts to, e.g. ``C0123``; the app must be a member), ``signing_secret`` (verifies the button
clicks Slack posts to ``/integrations/slack/...``) and ``app_token`` (``xapp-...``, for Socket
Mode) - both secret, masked like the token - and the webhook kind's ``mention``/``mentions``.

The first message of an incident posts its ROOT (``chat.postMessage``); its ``ts`` is kept
(alerts/notify/thread.py). Every later message edits the root (``chat.update``) to show the
incident as it is now - firing, acknowledged by whom, severity raised, its members, resolved
and how long it lasted - and a reminder, update, escalation or flapping message is ALSO a reply
in the root's thread, so people following the thread hear of it. A row older than the one the
root shows (a late retry) does not roll the root back. A root deleted in Slack
(``message_not_found``) is posted again. While the incident is open the root carries buttons
(Acknowledge, Silence 1 h, Resolve, Re-execute from failure, Open runbook) that
alerts/inbound/slack.py acts on; a resolved root has none.

Slack answers ``200 {"ok": false, "error": ...}`` or an HTTP error
(https://api.slack.com/web#responses): a 429 carries ``Retry-After``
(https://api.slack.com/apis/rate-limits); a revoked or wrong token, an unknown channel or one
the app is not in never heal by themselves, so they are permanent; a 5xx, a connection error
or another error code is tried again. slack_sdk's own retry handlers are off: delivery retries.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from django.conf import settings
from pydantic import field_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts.choices import ChannelKind, IncidentState, NotificationEvent
from alerts.notify.messages import Message
from alerts.notify.thread import Thread
from alerts.notify.transports import _http
from alerts.notify.transports.base import (
    Config,
    ConfigError,
    DeliveryError,
    SendResult,
    Transport,
    register,
)
from alerts.notify.transports.slack import (
    SlackConfig,
    alert_blocks,
    build_payload,
    emoji,
    section,
    source_list,
)
from confops.common import queues
from confops.common.markup import slack_escape
from confops.common.secrets import redact_error

KIND = ChannelKind.SLACK_APP
ACTION_ACK = "confops_ack"
ACTION_SILENCE = "confops_silence_1h"
ACTION_RESOLVE = "confops_resolve"
ACTION_REEXECUTE = "confops_reexecute"
ACTION_RUNBOOK = "confops_runbook"
# A 429 asking to wait this long or less is waited out once within the attempt (see call).
SHORT_RATE_LIMIT_SECONDS = 2.0
# Messages that also reply in the root's thread (besides editing the root).
REPLY_EVENTS = frozenset(
    {
        NotificationEvent.REMINDER,
        NotificationEvent.UPDATE,
        NotificationEvent.ESCALATION,
        NotificationEvent.FLAPPING,
    }
)
# Slack's error codes that the same request will always get again.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
    }
)
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


class SlackAppConfig(SlackConfig):
    """The webhook kind's mention options plus where to post and the inbound side's secrets."""

    channel: str
    signing_secret: str = ""
    app_token: str = ""

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if not CHANNEL_ID.fullmatch(value):
            raise ValueError(
                "a Slack channel id such as C0123ABCD (channel details, at the bottom), "
                "not its name"
            )
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: str) -> str:
        if value and not value.startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-")
        return value


@register
class SlackAppTransport(Transport):
    kind = KIND
    queue = queues.DELIVER_CHAT
    label = "Slack app (two-way)"
    config_schema = SlackAppConfig
    config: SlackAppConfig
    secret_required = True
    secret_help = "the app's bot token (xoxb-...)"  # noqa: S105 - a help text
    secret_config_keys = frozenset({"signing_secret", "app_token"})
    mirrors_incidents = True
    example_config = {
        "channel": "C0123ABCD",
        "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
        "app_token": "xapp-1-A0000-0000-fake",
    }
    example_secret = "xoxb-0000-0000-fake"  # noqa: S105 - fake

    @classmethod
    def parse_config(cls, raw: dict[str, Any] | None, secret: str = "") -> Config:
        config = super().parse_config(raw, secret)
        if not secret.startswith("xoxb-"):
            raise ConfigError({"secret": f"{cls.secret_help}: a bot token starts with xoxb-"})
        return config

    def client(self) -> WebClient:
        client = WebClient(
            token=self.secret,
            base_url=settings.SLACK_API_URL,
            timeout=int(settings.NOTIFICATION_HTTP_TIMEOUT_SECONDS),
        )
        client.retry_handlers = []  # delivery retries, with its backoff and Retry-After
        return client

    def send(self, message: Message) -> SendResult:
        incident = incident_of(message)
        if not message.is_about_alerts or not incident:
            return self.post_alone(message)
        thread = message.thread or Thread()
        if not thread.reference:
            return self.post_root(message)
        if not thread.is_newer(message.notification_id):
            # A late retry of an older row: its reply still belongs in the thread, but the
            # root keeps showing the newer state (thread None: the mirror stays as it is).
            self.reply(message, thread.reference)
            return SendResult(detail="older than the root; root left as it is")
        if not self.update_root(message, thread.reference):
            return self.post_root(message)
        self.reply(message, thread.reference)
        return SendResult(
            status_code=200, detail=thread.reference, thread=self.thread(message, thread.reference)
        )

    def post_alone(self, message: Message) -> SendResult:
        """A message about no incident (a test, the daily report): posted as the webhook
        kind lays it out."""
        body = build_payload(message, self.config.mention_for(message.severity))
        answer = self.call("chat_postMessage", channel=self.config.channel, **body)
        return SendResult(status_code=200, detail=str(answer.get("ts", "")))

    def post_root(self, message: Message) -> SendResult:
        answer = self.call("chat_postMessage", channel=self.config.channel, **self.root(message))
        ts = str(answer["ts"])
        return SendResult(status_code=200, detail=ts, thread=self.thread(message, ts))

    def update_root(self, message: Message, ts: str) -> bool:
        """Edit the root; False when Slack no longer has it (deleted by someone)."""
        try:
            self.call("chat_update", channel=self.config.channel, ts=ts, **self.root(message))
        except MessageNotFound:
            return False
        return True

    def reply(self, message: Message, ts: str) -> None:
        if message.event not in REPLY_EVENTS:
            return
        blocks = reply_blocks(message, self.config.mention_for(message.severity))
        text = f"{emoji(message)} {slack_escape(message.subject)}"
        self.call(
            "chat_postMessage", channel=self.config.channel, thread_ts=ts, text=text, blocks=blocks
        )

    def root(self, message: Message) -> dict[str, Any]:
        mention = (
            self.config.mention_for(message.severity)
            if message.event == NotificationEvent.FIRING
            else ""
        )
        return {"text": root_text(message), "blocks": root_blocks(message, mention)}

    def thread(self, message: Message, ts: str) -> Thread:
        return Thread(
            reference=ts,
            conversation=self.config.channel,
            remote_state=state_of(message),
            last_notification_id=message.notification_id,
        )

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """One Web API call; every failure a DeliveryError whose text holds no secret.

        A 429 asking to wait at most ``SHORT_RATE_LIMIT_SECONDS`` is waited out and tried once
        more within the attempt: Slack refused before acting, so this cannot post twice, and a
        message of two calls (edit the root, reply in its thread) would otherwise fail whole
        whenever either call meets a brief rate limit (the delivery benchmark lost one such row
        at 20 % refusals after its eight attempts)."""
        try:
            return self.call_once(method, **kwargs)
        except DeliveryError as exc:
            brief = exc.retry_after is not None and exc.retry_after <= SHORT_RATE_LIMIT_SECONDS
            if exc.status_code != 429 or not brief:
                raise
            time.sleep(exc.retry_after or 0.0)
        return self.call_once(method, **kwargs)

    def call_once(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self.client(), method)(**kwargs)
        except SlackApiError as exc:
            raise api_error(exc) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(f"Slack: {redact_error(exc, [self.secret])}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}


class MessageNotFound(DeliveryError):
    """``chat.update`` of a root Slack no longer has."""


def api_error(exc: SlackApiError) -> DeliveryError:
    """Slack's answer as a verdict: 429 waits ``Retry-After``; codes that cannot heal are
    permanent; 5xx and anything else transient."""
    response = exc.response
    status = int(response.status_code)
    code = str((response.data or {}).get("error", "")) if isinstance(response.data, dict) else ""
    reason = f"Slack answered HTTP {status}" + (f": {code}" if code else "")
    if code == "message_not_found":
        return MessageNotFound(reason, permanent=True, status_code=status)
    if status == 429 or code == "ratelimited":
        wait = _http.retry_after(header(response.headers, "Retry-After"))
        return DeliveryError(reason, status_code=status, retry_after=wait)
    permanent = code in PERMANENT_ERRORS and status < 500
    return DeliveryError(reason, permanent=permanent, status_code=status)


def header(headers: Any, name: str) -> Any:
    """A header of slack_sdk's response (a plain or a listed value, any case)."""
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) and value else value
    return None


def incident_of(message: Message) -> dict[str, Any]:
    return dict(message.payload.get("incident") or {})


def state_of(message: Message) -> str:
    """The incident's state as the root shows it after this message."""
    if message.event == NotificationEvent.RESOLVED:
        return IncidentState.RESOLVED
    if message.event == NotificationEvent.ACKNOWLEDGED:
        return IncidentState.ACKNOWLEDGED
    if message.event == NotificationEvent.UNACKNOWLEDGED:
        return IncidentState.OPEN
    return str(incident_of(message).get("state") or IncidentState.OPEN)


def root_text(message: Message) -> str:
    """The root's notification text: the incident's title and its state."""
    incident = incident_of(message)
    title = slack_escape(str(incident.get("title") or message.rule))
    return f"{emoji(message)} {status_text(message)}: {title}"


def status_text(message: Message) -> str:
    """The incident's state in words (plain, escaped)."""
    state = state_of(message)
    incident = incident_of(message)
    if state == IncidentState.RESOLVED:
        first = message.first
        lasted = f" after {first.duration}" if first is not None and first.duration else ""
        return f"Resolved{lasted}"
    if state == IncidentState.ACKNOWLEDGED:
        who = slack_escape(str(incident.get("acknowledged_by") or "someone"))
        return f"Acknowledged by {who}"
    if message.event == NotificationEvent.SEVERITY_RAISED:
        return f"Firing, severity raised to {slack_escape(message.severity)}"
    return "Firing"


def status_line(message: Message) -> str:
    incident = incident_of(message)
    members = int(incident.get("sources") or len(message.sources) or 1)
    facts = [f"*{status_text(message)}*", f"{members} source{'s' if members != 1 else ''}"]
    if incident.get("flapping"):
        facts.append(f"flapping ({int(incident.get('flaps') or 0)} flaps)")
    return " · ".join(facts)


def root_blocks(message: Message, mention: str) -> list[dict[str, Any]]:
    """The webhook kind's layout, then the incident's state and, while open, its buttons."""
    blocks = [*alert_blocks(message, mention), section(status_line(message))]
    if state_of(message) != IncidentState.RESOLVED:
        blocks.append(
            {"type": "actions", "block_id": "confops_incident", "elements": buttons(message)}
        )
    return blocks


def buttons(message: Message) -> list[dict[str, Any]]:
    first = message.first
    value = json.dumps(
        {"incident": incident_of(message).get("id"), "alert": first.id if first else None}
    )
    found = []
    if state_of(message) != IncidentState.ACKNOWLEDGED:
        found.append(button(ACTION_ACK, "Acknowledge", value, style="primary"))
    found += [
        button(ACTION_SILENCE, "Silence 1 h", value),
        button(ACTION_RESOLVE, "Resolve", value),
    ]
    if first is not None and first.run_id:
        found.append(reexecute_button(value, first.run_id))
    if message.runbook and message.runbook.url:
        found.append({**button(ACTION_RUNBOOK, "Open runbook", value), "url": message.runbook.url})
    return found


def button(action_id: str, label: str, value: str, style: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def reexecute_button(value: str, run_id: str) -> dict[str, Any]:
    confirm = {
        "title": {"type": "plain_text", "text": "Re-execute from failure?"},
        "text": {
            "type": "mrkdwn",
            "text": f"Dagster re-executes run `{slack_escape(run_id)}` from its failed steps.",
        },
        "confirm": {"type": "plain_text", "text": "Re-execute"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return {**button(ACTION_REEXECUTE, "Re-execute from failure", value), "confirm": confirm}


def reply_blocks(message: Message, mention: str) -> list[dict[str, Any]]:
    """A thread reply: the headline (with the mention), and who is in the incident now."""
    headline = alert_blocks(message, mention)[0]
    if message.event == NotificationEvent.UPDATE or len(message.alerts) > 1:
        return [headline, section(source_list(message))]
    return [headline]
