"""What a notification says: one helper renders an outbox row's payload into a message.

Every message is a set rendered from Django templates in ``templates/alerts/notifications/<set>/``:
``subject.txt`` (one line), ``body.txt`` and ``body.html``, plus an optional ``slack.txt``
(Slack mrkdwn, every value through ``|slack`` of ``{% load markup %}``) for sets that are not
about alerts. Transports take what fits them: email the
subject and both bodies, Slack the structured fields as Block Kit, the webhook the structured
fields as JSON. Sets:

- ``alert``: one alert firing, reminding, escalated or resolved (with how long it lasted);
  while it fires, the facts of ``alerts.engine.facts`` (since when, the last success, the
  failed runs, the deployment, the downstream assets), each shown only when the row has it;
- ``grouped``: several alerts of one rule in one message, listing their sources (the first
  ``MAX_LISTED`` and "and N more", so a storm of 500 stays readable);
- ``silence_expiring``, ``channel_failing``, ``test`` and ``daily_report`` (the hook of the
  daily report: its payload is ``{"title", "date", "url", "lines": [...]}``).

Rendering reads only the payload (a snapshot taken when the row was written) and the settings
for absolute links, so a resent message says what the first one said. The runbook's first steps
are Markdown: they are shown as plain text, a link as its label followed by its absolute URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone
from markdown_it import MarkdownIt

from alerts.choices import IncidentState, NotificationEvent, Severity
from alerts.notify.links import ack_link_url, alert_url, from_runbook, runbook_url
from alerts.notify.thread import Thread
from confops.common.formatting import span

TEMPLATE_ROOT = "alerts/notifications"
MAX_LISTED = 20
ERROR_EXCERPT_CHARS = 600
SUBJECT_MAX_CHARS = 200
RUNBOOK_STEPS = 5

ALERT_EVENTS = frozenset(
    {
        NotificationEvent.FIRING,
        NotificationEvent.UPDATE,
        NotificationEvent.SEVERITY_RAISED,
        NotificationEvent.FLAPPING,
        NotificationEvent.REMINDER,
        NotificationEvent.ESCALATION,
        NotificationEvent.RESOLVED,
        NotificationEvent.ACKNOWLEDGED,
        NotificationEvent.UNACKNOWLEDGED,
    }
)
HEADLINES: dict[str, str] = {
    NotificationEvent.FIRING: "Firing",
    NotificationEvent.UPDATE: "More sources failing",
    NotificationEvent.SEVERITY_RAISED: "Severity raised",
    NotificationEvent.FLAPPING: "Flapping",
    NotificationEvent.REMINDER: "Still firing",
    NotificationEvent.ESCALATION: "Escalated, not acknowledged",
    NotificationEvent.RESOLVED: "Resolved",
    NotificationEvent.ACKNOWLEDGED: "Acknowledged",
    NotificationEvent.UNACKNOWLEDGED: "No longer acknowledged",
}
SEVERITY_ORDER = [Severity.CRITICAL, Severity.WARNING, Severity.INFO]
# One palette for the HTML email and Slack's attachment bar; a resolved message is green.
COLOURS: dict[str, str] = {
    Severity.CRITICAL: "#d40e0d",
    Severity.WARNING: "#e8912d",
    Severity.INFO: "#439fe0",
    "resolved": "#2eb67d",
}


@dataclass(frozen=True)
class AlertLine:
    """One alert as a message shows it."""

    id: int | None
    source: str
    severity: str
    summary: str
    error: str
    url: str
    run_id: str
    run_url: str
    fired_at: str | None
    resolved_at: str | None
    duration_s: float | None
    duration: str  # how long the incident lasted (first failure to recovery), as text
    consequences: list[str] = field(default_factory=list)
    incident_s: float | None = None
    # The facts of alerts.engine.facts; a row stored before them has none and shows none.
    since_at: str | None = None
    last_success_at: str | None = None
    failed_runs: int | None = None
    deployment: str = ""
    downstream: list[str] = field(default_factory=list)
    downstream_more: int = 0
    knows_last_success: bool = False  # the row says whether the source ever succeeded

    @property
    def since(self) -> str:
        return moment(self.since_at)

    @property
    def last_success(self) -> str:
        """When the source last succeeded, "never", or empty when the row does not say."""
        if not self.knows_last_success:
            return ""
        return moment(self.last_success_at) or "never"

    @property
    def failures(self) -> str:
        if self.failed_runs is None:
            return ""
        return f"{self.failed_runs} failed run{'' if self.failed_runs == 1 else 's'}"

    @property
    def affected(self) -> str:
        """The downstream assets as one line: "a, b and 3 more"."""
        more = f" and {self.downstream_more} more" if self.downstream_more else ""
        return ", ".join(self.downstream) + more

    @property
    def facts_line(self) -> str:
        """The facts on one plain line, for a member of a grouped message."""
        parts = [
            f"since {self.since}" if self.since else "",
            f"last success {self.last_success}" if self.last_success else "",
            self.failures,
            f"deployment {self.deployment}" if self.deployment else "",
            f"downstream {self.affected}" if self.affected else "",
        ]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class RunbookView:
    title: str
    url: str
    steps: list[str]


@dataclass(frozen=True)
class Message:
    """A rendered notification: the text set plus the structured fields transports lay out."""

    event: str
    template_set: str
    severity: str
    headline: str
    subject: str
    text: str
    html: str
    slack_text: str
    rule: str
    sources: list[str]
    alerts: list[AlertLine]
    shown: list[AlertLine]
    more: int
    runbook: RunbookView | None
    payload: dict[str, Any]
    notification_id: int | None = None
    recipients: list[str] = field(default_factory=list)
    # A two-way channel's message of this incident so far (delivery fills it in).
    thread: Thread | None = None
    # The one-use acknowledge link of a page about an open incident (empty otherwise).
    ack_url: str = ""

    @property
    def is_about_alerts(self) -> bool:
        return self.event in ALERT_EVENTS

    @property
    def first(self) -> AlertLine | None:
        return self.alerts[0] if self.alerts else None


def render(event: str, payload: dict[str, Any], notification_id: int | None = None) -> Message:
    """Render an outbox row's payload as a message (raises if a template is broken)."""
    context = build_context(event, payload)
    name = template_set(event, payload)
    subject, text, html, slack_text = render_set(name, context)
    return Message(
        event=event,
        template_set=name,
        severity=context["severity"],
        headline=context["headline"],
        subject=subject,
        text=text,
        html=html,
        slack_text=slack_text,
        rule=context["rule_name"],
        sources=context["sources"],
        alerts=context["alerts"],
        shown=context["shown"],
        more=context["more"],
        runbook=context["runbook"],
        payload=payload,
        notification_id=notification_id,
        recipients=[payload["to"]] if payload.get("to") else [],
        ack_url=context["ack_url"],
    )


def template_set(event: str, payload: dict[str, Any]) -> str:
    if event in ALERT_EVENTS:
        return "grouped" if len(payload.get("alerts") or []) > 1 else "alert"
    return str(event)


def render_set(name: str, context: dict[str, Any]) -> tuple[str, str, str, str]:
    """Subject (one line), text body, HTML body and Slack text (empty when the set has none)."""
    base = f"{TEMPLATE_ROOT}/{name}"
    subject = " ".join(render_to_string(f"{base}/subject.txt", context).split())
    if len(subject) > SUBJECT_MAX_CHARS:
        subject = subject[: SUBJECT_MAX_CHARS - 1] + "…"
    text = tidy(render_to_string(f"{base}/body.txt", context))
    html = render_to_string(f"{base}/body.html", context)
    try:
        slack_text = tidy(render_to_string(f"{base}/slack.txt", context))
    except TemplateDoesNotExist:
        slack_text = ""
    return subject, text, html, slack_text


def tidy(text: str) -> str:
    """Template tags leave blank lines behind: keep at most one between paragraphs."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def build_context(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    alerts = [alert_line(raw) for raw in payload.get("alerts") or []]
    rule = payload.get("rule") or {}
    sources = [str(s) for s in payload.get("sources") or [a.source for a in alerts]]
    return {
        "event": event,
        "payload": payload,
        "headline": HEADLINES.get(event, ""),
        "severity": highest_severity(alerts, payload),
        "rule_name": str(rule.get("name") or ""),
        "rule": rule,
        "alerts": alerts,
        "alert": alerts[0] if alerts else None,
        "shown": alerts[:MAX_LISTED],
        "more": max(len(alerts) - MAX_LISTED, 0),
        "sources": sources,
        "subject_sources": sources[:3],
        "subject_more": max(len(sources) - 3, 0),
        "runbook": runbook_view(payload.get("runbook")),
        "resolved": event == NotificationEvent.RESOLVED,
        # What the sources of an incident share (a storm), as its title names it.
        "cause": str((payload.get("incident") or {}).get("cause") or ""),
        "incident_title": str((payload.get("incident") or {}).get("title") or ""),
        "colour": colour(event, highest_severity(alerts, payload)),
        "ack_url": ack_url(event, payload),
    }


def ack_url(event: str, payload: dict[str, Any]) -> str:
    """The one-use acknowledge link (alerts/inbound/ack_links.py) of a page about an incident
    still open, signed as of when the row was written; empty for anything else."""
    incident = payload.get("incident") or {}
    if event not in ALERT_EVENTS or event == NotificationEvent.RESOLVED:
        return ""
    if (
        incident.get("state") != IncidentState.OPEN
        or not incident.get("id")
        or not payload.get("at")
    ):
        return ""
    return ack_link_url(int(incident["id"]), datetime.fromisoformat(str(payload["at"])))


def alert_line(raw: dict[str, Any]) -> AlertLine:
    alert_id = raw.get("id")
    duration_s = raw.get("duration_s")
    # A row stored before incidents were measured has only the alert's age.
    incident_s = raw.get("incident_s", duration_s)
    return AlertLine(
        id=alert_id,
        source=str(raw.get("subject") or ""),
        severity=str(raw.get("severity") or Severity.WARNING),
        summary=first_line(str(raw.get("summary") or "")),
        error=excerpt(str(raw.get("error") or "")),
        url=alert_url(int(alert_id)) if alert_id is not None else "",
        run_id=str(raw.get("run_id") or ""),
        run_url=str(raw.get("run_url") or ""),
        fired_at=raw.get("fired_at"),
        resolved_at=raw.get("resolved_at"),
        duration_s=duration_s,
        duration=span(incident_s) if incident_s is not None else "",
        consequences=[str(c) for c in raw.get("consequences") or []],
        incident_s=incident_s,
        **fact_fields(raw),
    )


def fact_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The AlertLine fields of the facts a row carries (none for a row stored before them)."""
    failed = raw.get("failed_runs")
    return {
        "since_at": raw.get("since"),
        "last_success_at": raw.get("last_success_at"),
        "knows_last_success": "last_success_at" in raw,
        "failed_runs": int(failed) if failed is not None else None,
        "deployment": str(raw.get("deployment") or ""),
        "downstream": [str(k) for k in raw.get("downstream") or []],
        "downstream_more": int(raw.get("downstream_more") or 0),
    }


def moment(iso: str | None) -> str:
    """An ISO moment of the payload as a reader's date and time: "2026-11-02 03:00 UTC"."""
    if not iso:
        return ""
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M %Z")


def runbook_view(raw: dict[str, Any] | None) -> RunbookView | None:
    if not raw:
        return None
    slug = str(raw.get("slug") or "")
    return RunbookView(
        title=str(raw.get("title") or slug),
        url=runbook_url(slug) if slug else "",
        steps=[plain_step(str(s), slug) for s in raw.get("steps") or []][:RUNBOOK_STEPS],
    )


INLINE = MarkdownIt("commonmark", {"html": False})
MARKERS = {"softbreak": " ", "hardbreak": " "}


def plain_step(markdown: str, slug: str) -> str:
    """A runbook step as plain text: emphasis and code marks dropped, raw HTML shown as typed,
    a link as its label and its absolute URL (``Volume drop (https://ops/runbooks/vd/)``), so
    every format escapes one plain text and a reader can follow the link from mail or chat."""
    parts: list[str] = []
    href, label_at = "", 0
    for token in INLINE.parseInline(markdown)[0].children or []:
        if token.type == "link_open":
            href = from_runbook(str(token.attrGet("href") or ""), slug)
            label_at = len(parts)
        elif token.type == "link_close":
            label = "".join(parts[label_at:])
            if href and href != label:
                parts.append(f" ({href})")
            href = ""
        elif token.type in ("text", "code_inline", "image"):
            parts.append(token.content)
        else:
            parts.append(MARKERS.get(token.type, ""))
    return " ".join("".join(parts).split())


def highest_severity(alerts: list[AlertLine], payload: dict[str, Any]) -> str:
    present = {a.severity for a in alerts} | {str(payload.get("severity") or "")}
    return next((str(s) for s in SEVERITY_ORDER if s in present), str(Severity.INFO))


def colour(event: str, severity: str) -> str:
    key = "resolved" if event == NotificationEvent.RESOLVED else severity
    return COLOURS.get(key, COLOURS[Severity.INFO])


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def excerpt(text: str, limit: int = ERROR_EXCERPT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


LIST_ITEM = re.compile(r"^( *)(?:[-*+]|\d{1,9}[.)])\s+(.*\S)\s*$")


def first_steps(markdown: str, limit: int = RUNBOOK_STEPS) -> list[str]:
    """The items of the first Markdown list in a runbook (top level only, at most ``limit``).

    Blank lines, indented continuation lines and nested items do not end the list (they are
    left out); the first other line at the list's margin does.
    """
    steps: list[str] = []
    margin: int | None = None
    for line in markdown.expandtabs(4).splitlines():
        item = LIST_ITEM.match(line)
        indent = len(line) - len(line.lstrip(" "))
        if item and ((margin is None and indent <= 3) or indent == margin):
            margin = indent
            steps.append(item.group(2))
            if len(steps) >= limit:
                break
        elif margin is not None and line.strip() and indent <= margin:
            break
    return steps
