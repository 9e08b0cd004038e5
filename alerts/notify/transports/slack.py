"""Slack through an incoming webhook, laid out with Block Kit.

Secret: the webhook URL (``https://hooks.slack.com/services/...``); a channel without one uses
``SLACK_WEBHOOK_URL``. Config (optional): ``{"mention": "<!here>"}`` prepended to critical
firing, reminder and escalation messages; ``{"mentions": {"warning": "<!subteam^S0123>"}}`` per
severity (a user group, a user ``<@U0123>`` or a special mention), refused when it is anything
else.

A message is one attachment whose bar has the severity's colour (Block Kit has no colour of
its own, attachments do), holding blocks: the headline with the severity's emoji, the rule
and source(s), the one-line summary, the facts while it fires (since, last success, failed
runs, deployment, downstream: fields for one alert, a line per member of a group), an excerpt
of the error, the runbook's first steps and
links to the alert in confops (where it is acknowledged), its runbook and the Dagster run.
The top-level ``text`` is what notifications and screen readers show. Every text from users or
Dagster, the top-level one included, is escaped with ``confops.common.markup.slack_escape``: a
source
key ``<!channel>`` must show as typed, not ping the channel.

Slack answers an incoming webhook with ``ok`` (200) or an error code in the body: 400
``invalid_payload``, 403 ``invalid_token`` or ``action_prohibited``, 404 ``channel_not_found``
or ``no_service`` (the webhook was revoked), 410 ``channel_is_archived``. None of these heal
by themselves, so a 4xx other than 429 is permanent; 429 carries ``Retry-After``
(https://api.slack.com/messaging/webhooks#handling_errors,
https://api.slack.com/apis/rate-limits).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from pydantic import field_validator

from alerts.choices import ChannelKind, NotificationEvent, Severity
from alerts.notify.links import absolute, alert_url
from alerts.notify.messages import AlertLine, Message, colour
from alerts.notify.transports import _http
from alerts.notify.transports.base import Config, SendResult, Transport, register
from confops.common import queues
from confops.common.formatting import span
from confops.common.markup import slack_escape, slack_link

EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}
RESOLVED_EMOJI = ":white_check_mark:"
SECTION_MAX_CHARS = 2900  # Slack refuses section text over 3,000 characters
FIELD_MAX_CHARS = 1900  # and a field's text over 2,000
# The daily report's summary names this many of its worst sources and open critical alerts.
REPORT_WORST = 5
REPORT_RULES = 3  # the rules with most messages per incident that day
REPORT_CRITICAL = 5


# What a mention may be: Slack's special mentions, a user group (``<!subteam^S0123>``) or a user
# (``<@U0123>``), several separated by spaces. Anything else is refused when the channel is
# saved: the text goes to Slack unescaped (it must ping), so it must not carry a link or markup.
MENTION_TOKEN = re.compile(r"<!(here|channel|everyone)>|<!subteam\^[A-Z0-9]+>|<@[UW][A-Z0-9]+>")


def checked_mention(value: str) -> str:
    """The mention as Slack reads it; a bare user id (``U0123``) becomes ``<@U0123>``."""
    tokens = [f"<@{t}>" if re.fullmatch(r"[UW][A-Z0-9]+", t) else t for t in value.split()]
    for token in tokens:
        if not MENTION_TOKEN.fullmatch(token):
            raise ValueError(
                f"{token!r} is not a Slack mention: use <!here>, <!channel>, "
                "<!subteam^ID> (a user group) or <@ID> (a user)"
            )
    return " ".join(tokens)


class SlackConfig(Config):
    """``mention`` pings on critical pages (as before ``mentions`` existed); ``mentions`` per
    severity, e.g. ``{"critical": "<!here>", "warning": "<!subteam^S0123>"}``, wins over it."""

    mention: str = ""
    mentions: dict[Severity, str] = {}

    @field_validator("mention")
    @classmethod
    def _mention(cls, value: str) -> str:
        """Stored before mentions were checked: what is not a mention is escaped (shown as
        typed, never a link) rather than refused, so such a channel keeps sending."""
        return " ".join(
            token if MENTION_TOKEN.fullmatch(token) else slack_escape(token)
            for token in value.split()
        )

    @field_validator("mentions")
    @classmethod
    def _mentions(cls, value: dict[Severity, str]) -> dict[Severity, str]:
        return {severity: checked_mention(text) for severity, text in value.items()}

    def mention_for(self, severity: str) -> str:
        """Who is pinged for a page of this severity (empty: nobody)."""
        if severity in self.mentions:
            return self.mentions[Severity(severity)]
        return self.mention if severity == Severity.CRITICAL else ""


@register
class SlackTransport(Transport):
    kind = ChannelKind.SLACK
    queue = queues.DELIVER_CHAT
    label = "Slack (incoming webhook)"
    config_schema = SlackConfig
    config: SlackConfig
    secret_required = True
    secret_help = "the incoming webhook URL (or set SLACK_WEBHOOK_URL)"  # noqa: S105 - a help text
    example_secret = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"  # noqa: S105 - fake

    @classmethod
    def default_secret(cls) -> str:
        return str(settings.SLACK_WEBHOOK_URL)

    def send(self, message: Message) -> SendResult:
        url = self.secret or self.default_secret()
        mention = self.config.mention_for(message.severity)
        body = json.dumps(build_payload(message, mention)).encode()
        response = _http.post(url, body, {"Content-Type": "application/json; charset=utf-8"})
        return _http.verdict(response, "Slack")


def clip(text: str, limit: int = SECTION_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def emoji(message: Message) -> str:
    if message.event == NotificationEvent.RESOLVED:
        return RESOLVED_EMOJI
    return EMOJI.get(Severity(message.severity), EMOJI[Severity.INFO])


def build_payload(message: Message, mention: str = "") -> dict[str, Any]:
    if message.payload.get("slack_blocks"):
        # A daily report stored before its rows carried figures: its blocks were built and
        # escaped when the row was written.
        return {"text": slack_escape(message.subject), "blocks": message.payload["slack_blocks"]}
    if message.event == NotificationEvent.DAILY_REPORT and message.payload.get("figures"):
        blocks = report_blocks(message.payload["figures"])
        return {"text": slack_escape(message.subject), "blocks": blocks}
    blocks = alert_blocks(message, mention) if message.is_about_alerts else other_blocks(message)
    return {
        "text": f"{emoji(message)} {slack_escape(message.subject)}",
        "attachments": [{"color": colour(message.event, message.severity), "blocks": blocks}],
    }


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}


def alert_blocks(message: Message, mention: str) -> list[dict[str, Any]]:
    first = message.first
    sources = ", ".join(f"`{slack_escape(s)}`" for s in message.sources[:3])
    if len(message.sources) > 3:
        sources += f" and {len(message.sources) - 3} more"
    plural = "s" if len(message.sources) > 1 else ""
    loud = mention and message.event != NotificationEvent.RESOLVED
    title = f"{slack_escape(message.headline)}: {slack_escape(message.rule)}"
    headline = f"{emoji(message)} *{title}* on {sources}"
    blocks = [section(f"{mention} {headline}" if loud else headline)]
    if cause := str((message.payload.get("incident") or {}).get("cause") or ""):
        blocks.append(section(f"*Shared cause:* {slack_escape(cause)}"))
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Severity*\n{slack_escape(message.severity)}"},
                {"type": "mrkdwn", "text": f"*Rule*\n{slack_escape(message.rule)}"},
                {"type": "mrkdwn", "text": f"*Source{plural}*\n{sources}"},
            ],
        }
    )
    if len(message.alerts) == 1 and first is not None:
        blocks.extend(single_alert_blocks(message, first))
    else:
        blocks.append(section(source_list(message)))
    if message.runbook and message.runbook.steps:
        steps = "\n".join(f"{i}. {slack_escape(s)}" for i, s in enumerate(message.runbook.steps, 1))
        blocks.append(section(f"*Runbook: {slack_escape(message.runbook.title)}*\n{steps}"))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links(message)}]})
    return blocks


def single_alert_blocks(message: Message, alert: AlertLine) -> list[dict[str, Any]]:
    text = slack_escape(alert.summary)
    if message.event == NotificationEvent.RESOLVED and alert.duration:
        text += f"\nLasted *{alert.duration}*."
    blocks = [section(text)]
    fields = fact_fields(alert) if message.event != NotificationEvent.RESOLVED else []
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if alert.error and message.event != NotificationEvent.RESOLVED:
        blocks.append(section(f"```{clip(slack_escape(alert.error), 2800)}```"))
    return blocks


def fact_fields(alert: AlertLine) -> list[dict[str, str]]:
    """One alert's facts as Block Kit fields, each only when the row has it."""
    last = alert.last_success
    if last and alert.failures:
        last += f" ({alert.failures} since)"
    facts = [
        ("Since", alert.since),
        ("Last success", last),
        ("Failed", alert.failures if not alert.last_success else ""),
        ("Deployment", alert.deployment),
        ("Downstream", alert.affected),
    ]
    return [
        {"type": "mrkdwn", "text": clip(f"*{name}*\n{slack_escape(value)}", FIELD_MAX_CHARS)}
        for name, value in facts
        if value
    ]


def source_list(message: Message) -> str:
    """A line per listed member, with its facts while it fires; when that would overflow the
    section (a storm), the facts are left out so every member and "and N more" still show."""
    firing = message.event != NotificationEvent.RESOLVED
    listed = source_lines(message, with_facts=firing)
    if len(listed) > SECTION_MAX_CHARS:
        listed = source_lines(message, with_facts=False)
    return listed


def source_lines(message: Message, with_facts: bool) -> str:
    lines = [
        f"• {slack_link(a.url, a.source) if a.url else slack_escape(a.source)}: "
        f"{slack_escape(a.summary)}"
        + (f"\n    _{slack_escape(a.facts_line)}_" if with_facts and a.facts_line else "")
        for a in message.shown
    ]
    if message.more:
        lines.append(f"… and {message.more} more")
    return "\n".join(lines)


def links(message: Message) -> str:
    first = message.first
    parts = []
    if first is not None and first.url:
        action = "View in confops" if message.event == "resolved" else "Acknowledge in confops"
        parts.append(
            slack_link(first.url, action if len(message.alerts) == 1 else "Open in confops")
        )
    if message.runbook and message.runbook.url:
        parts.append(slack_link(message.runbook.url, f"Runbook: {message.runbook.title}"))
    if first is not None and first.run_url and len(message.alerts) == 1:
        parts.append(slack_link(first.run_url, "Dagster run"))
    return " · ".join(parts) or "confops"


def other_blocks(message: Message) -> list[dict[str, Any]]:
    """Messages that are not about alerts: their own Slack text, or the plain text body."""
    return [
        section(
            message.slack_text or f"*{slack_escape(message.subject)}*\n{slack_escape(message.text)}"
        )
    ]


def report_blocks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The daily report's condensed summary (docs/reports.md), from the figures its outbox row
    carries: header, key numbers, worst sources, the rules with most messages per incident, open
    critical alerts, a button to the full report and when it was made."""
    url = str(summary["url"])
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Daily report · {summary['day']}"[:150]},
        },
        section(slack_escape(summary["headline"])),
        {"type": "section", "fields": key_fields(summary)},
    ]
    worst = summary.get("worst", [])[:REPORT_WORST]
    if worst:
        blocks.append(section("*Worst sources*\n" + "\n".join(worst_line(s) for s in worst)))
    rules = summary.get("rule_quality", [])[:REPORT_RULES]
    if rules:
        lines = "\n".join(rule_quality_line(q) for q in rules)
        blocks.append(section(f"*Most messages per incident*\n{lines}"))
    critical = summary["alerts"]["open_critical"][:REPORT_CRITICAL]
    if critical:
        lines = "\n".join(critical_line(a) for a in critical)
        more = summary["alerts"]["open_critical_count"] - len(critical)
        extra = f"\n… and {more} more" if more > 0 else ""
        blocks.append(section(f"*Open critical alerts*\n{lines}{extra}"))
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the full report"},
                    "url": url,
                    "style": "primary",
                    "action_id": "open_report",
                }
            ],
        }
    )
    context = f"Day in {slack_escape(summary['time_zone'])} · {slack_link(url, 'full report')}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return blocks


def key_fields(summary: dict[str, Any]) -> list[dict[str, str]]:
    overall, alerts = summary["overall"], summary["alerts"]
    sla = (
        f"{overall['sla_percent']:g} % ({overall['fresh_all_day']}/{overall['judged']})"
        if overall["sla_percent"] is not None
        else "not judged"
    )
    states = " · ".join(f"{s['count']} {s['label'].lower()}" for s in overall["by_state"])
    ack = alerts["median_ack"] or "-"
    fields = [
        ("Fresh all day (SLA)", sla),
        ("Runs", f"{overall['runs_succeeded']} succeeded · {overall['runs_failed']} failed"),
        ("Alerts", f"{alerts['fired']} fired · {alerts['open']} open"),
        ("Median time to acknowledge", ack),
        ("Sources", states or "none"),
        (
            "Asset checks",
            f"{summary['checks']['failed']} failed of {summary['checks']['evaluations']}",
        ),
    ]
    return [
        {"type": "mrkdwn", "text": f"*{name}*\n{slack_escape(value)}"} for name, value in fields
    ]


def worst_line(source: dict[str, Any]) -> str:
    url = absolute(f"sources/{source['slug']}/")
    facts = [source["state_label"].lower()]
    if source["failed"]:
        facts.append(f"{source['failed']} of {source['runs']} runs failed")
    if source["breach_minutes"]:
        facts.append(f"stale {span(source['breach_minutes'] * 60)}")
    return f"• {slack_link(url, source['key'])}: {slack_escape(', '.join(facts))}"


def rule_quality_line(rule: dict[str, Any]) -> str:
    """A rule's incidents of the day (reports/quality.py) in one line."""
    facts = [
        f"{rule['messages_per_incident']:g} messages per incident",
        f"{rule['incidents']} incident{'s' if rule['incidents'] != 1 else ''}",
        f"{rule['unacknowledged']} never acknowledged",
    ]
    if rule["flapping"]:
        facts.append(f"{rule['flapping_percent']:g} % flapping")
    return f"• {slack_escape(rule['rule'])}: {slack_escape(', '.join(facts))}"


def critical_line(alert: dict[str, Any]) -> str:
    url = alert_url(alert["id"])
    label = slack_link(url, alert["subject"])
    return f"• {label}: {slack_escape(alert['rule'])} — {slack_escape(alert['summary'])}"
