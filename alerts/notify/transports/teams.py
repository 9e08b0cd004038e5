"""Microsoft Teams through a Workflows (Power Automate) webhook, laid out as an Adaptive Card.

Secret: the workflow's webhook URL ("Post to a channel when a webhook request is received";
``https://prod-00.westeurope.logic.azure.com/workflows/...`` or
``https://....api.powerplatform.com/powerautomate/automations/direct/workflows/...``). Teams'
incoming-webhook connectors (``https://<tenant>.webhook.office.com/webhookb2/...``) are retired
and refused when the channel is saved. No config.

The body is a message with one Adaptive Card 1.4 attachment (the shape the Workflows template
posts to a channel). A card in Teams cannot carry a button that posts back to confops, so
"Acknowledge" opens a signed, one-use, expiring link (``alerts/notify/links.py``) whose page asks
to confirm, after a login. Every text from users or Dagster goes through
``confops.common.markup.teams_escape``: TextBlocks read Markdown and ``{{DATE(...)}}``.

A workflow answers 202 Accepted (it runs later: a card that fails to post inside the flow is
not seen here); 429 (Power Automate's throttling, with ``Retry-After``) and 5xx are transient,
any other 4xx permanent (a deleted or disabled flow answers 404), as ``_http.verdict`` decides.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from alerts.choices import NotificationEvent, Severity
from alerts.notify.messages import AlertLine, Message
from alerts.notify.transports import _http
from alerts.notify.transports.base import Config, ConfigError, SendResult, Transport, register
from confops.common import queues
from confops.common.markup import teams_escape

KIND = "teams"
CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Adaptive Card TextBlock colours (a card has no coloured bar, its header has the colour).
COLOURS: dict[str, str] = {
    Severity.CRITICAL: "attention",
    Severity.WARNING: "warning",
    Severity.INFO: "accent",
    "resolved": "good",
}
RETIRED_HOSTS = ("webhook.office.com", "outlook.office.com", "outlook.office365.com")
EXAMPLE_URL = (
    "https://prod-00.westeurope.logic.azure.com/workflows/0000/triggers/manual/paths/invoke"
)
LISTED_SOURCES = 5  # the sources line names this many, then "and N more"


def check_workflow_url(url: str) -> None:
    """Raise ValueError when ``url`` is not a webhook URL a Workflows flow gives."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be the https:// URL of a Teams Workflows webhook")
    host = (parts.hostname or "").lower()
    if "/webhookb2/" in parts.path or any(host.endswith(h) for h in RETIRED_HOSTS):
        raise ValueError(
            "this is a retired Office 365 connector URL (…/webhookb2/…); Teams no longer "
            "accepts them: in the Teams channel add the Workflows template 'Post to a channel "
            "when a webhook request is received' and paste its URL"
        )


@register
class TeamsTransport(Transport):
    kind = KIND
    queue = queues.DELIVER_CHAT
    label = "Microsoft Teams (Workflows)"
    secret_required = True
    secret_help = "the Workflows webhook URL of the Teams channel"  # noqa: S105 - a help text
    # A fake URL: the kinds list's example.
    example_secret = EXAMPLE_URL

    @classmethod
    def parse_config(cls, raw: dict[str, Any] | None, secret: str = "") -> Config:
        config = super().parse_config(raw, secret)
        try:
            check_workflow_url(secret)
        except ValueError as exc:
            raise ConfigError({"secret": str(exc)}) from None
        return config

    def send(self, message: Message) -> SendResult:
        body = json.dumps(build_payload(message)).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return _http.verdict(_http.post(self.secret, body, headers), "Teams")


def build_payload(message: Message) -> dict[str, Any]:
    """The message a Workflows webhook posts: one Adaptive Card attachment."""
    card = alert_card(message) if message.is_about_alerts else other_card(message)
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def adaptive_card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
        "actions": actions,
    }


def text(value: str, **style: Any) -> dict[str, Any]:
    """A TextBlock of text already escaped (or confops' own)."""
    return {"type": "TextBlock", "text": value, "wrap": True, **style}


def open_url(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def colour(message: Message) -> str:
    key = "resolved" if message.event == NotificationEvent.RESOLVED else message.severity
    return COLOURS.get(key, COLOURS[Severity.INFO])


def alert_card(message: Message) -> dict[str, Any]:
    """The headline in the severity's colour, rule and sources, the summary, the facts, the
    error, the runbook's first steps; buttons to acknowledge and to open what it names."""
    header = f"{message.headline}: {teams_escape(message.rule)}"
    body = [
        text(header, size="Large", weight="Bolder", color=colour(message), style="heading"),
        text(sources_line(message), isSubtle=True, spacing="None"),
    ]
    first = message.first
    if first is not None and len(message.alerts) == 1:
        body += single_alert(message, first)
    else:
        body += [
            text(f"**{teams_escape(a.source)}**: {teams_escape(a.summary)}") for a in message.shown
        ]
        if message.more:
            body.append(text(f"and {message.more} more", isSubtle=True))
    body += runbook_blocks(message)
    return adaptive_card(body, alert_actions(message))


def sources_line(message: Message) -> str:
    named = ", ".join(teams_escape(s) for s in message.sources[:LISTED_SOURCES])
    more = len(message.sources) - LISTED_SOURCES
    return f"Severity {message.severity} · on {named}" + (f" and {more} more" if more > 0 else "")


def single_alert(message: Message, alert: AlertLine) -> list[dict[str, Any]]:
    blocks = [text(teams_escape(alert.summary))] if alert.summary else []
    facts = alert_facts(message, alert)
    if facts:
        blocks.append({"type": "FactSet", "facts": facts})
    if alert.error and message.event != NotificationEvent.RESOLVED:
        blocks.append(text(teams_escape(alert.error), fontType="Monospace", size="Small"))
    return blocks


def alert_facts(message: Message, alert: AlertLine) -> list[dict[str, str]]:
    """The facts while it fires (alerts.engine.facts), how long it lasted once resolved."""
    if message.event == NotificationEvent.RESOLVED:
        pairs = [("Lasted", alert.duration)]
    else:
        pairs = [
            ("Since", alert.since),
            ("Last success", alert.last_success),
            ("Failed runs", str(alert.failed_runs) if alert.failed_runs is not None else ""),
            ("Deployment", alert.deployment),
            ("Downstream", alert.affected),
        ]
    return [{"title": title, "value": teams_escape(value)} for title, value in pairs if value]


def runbook_blocks(message: Message) -> list[dict[str, Any]]:
    runbook = message.runbook
    if runbook is None or message.event == NotificationEvent.RESOLVED:
        return []
    steps = "\n".join(f"{n}. {teams_escape(step)}" for n, step in enumerate(runbook.steps, 1))
    title = text(f"**Runbook: {teams_escape(runbook.title)}**", spacing="Medium")
    return [title, text(steps)] if steps else [title]


def alert_actions(message: Message) -> list[dict[str, Any]]:
    incident = message.payload.get("incident") or {}
    first = message.first
    actions = []
    if message.ack_url:
        actions.append(open_url("Acknowledge", message.ack_url))
    confops_url = str(incident.get("url") or "") or (first.url if first else "")
    if confops_url:
        actions.append(open_url("Open in confops", confops_url))
    if message.runbook is not None and message.runbook.url:
        actions.append(open_url("Runbook", message.runbook.url))
    if first is not None and first.run_url:
        actions.append(open_url("Dagster run", first.run_url))
    return actions


def other_card(message: Message) -> dict[str, Any]:
    """The daily report, a test, a failing channel, an expiring silence: subject and text."""
    body = [
        text(teams_escape(message.subject), size="Large", weight="Bolder", style="heading"),
        text(teams_escape(message.text.strip())),
    ]
    url = str(message.payload.get("url") or "")
    return adaptive_card(body, [open_url("Open in confops", url)] if url.startswith("http") else [])
