"""The daily report in its four forms: HTML (email and portal), plain text, Slack Block Kit.

All read the stored summary (``ReportContext.to_json()``), never the database. The HTML comes
from autoescaping templates and is then passed through nh3 with an allow-list of tags and
attributes, so a source named ``<script>`` or an error text full of markup comes out inert even
where the HTML is later inserted with ``|safe`` (the email set, the portal page). It is
email-safe: tables and inline styles, bars as table cells with widths and background colours
(Gmail strips inline SVG), no images, fonts, stylesheets or scripts, no external request.
"""

from __future__ import annotations

from typing import Any

import nh3
from django.conf import settings
from django.template.loader import render_to_string

from alerts.notify.links import absolute, alert_url
from alerts.notify.messages import tidy
from alerts.notify.transports.slack import section
from confops.common.formatting import span
from confops.common.markup import slack_escape, slack_link
from reports.builder import needs_attention

# The email lists the sources that need attention first, then stops: the rest is on the page.
EMAIL_SOURCES = 40
SLACK_WORST = 5
SLACK_CRITICAL = 5

ALLOWED_TAGS = {
    "a", "b", "br", "code", "div", "em", "h1", "h2", "h3", "li", "p", "pre", "small", "span",
    "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"style", "align", "valign", "width", "height", "title", "role", "id", "class"},
    "table": {"cellpadding", "cellspacing", "border", "role", "width", "style", "align"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "a": {"href"},
}


def report_url(day: str) -> str:
    return absolute(f"reports/{day}/")


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def render_html(summary: dict[str, Any], *, email: bool) -> str:
    """The report body; the email lists at most ``EMAIL_SOURCES`` sources, worst first."""
    sources = summary.get("sources", [])
    shown = sources[:EMAIL_SOURCES] if email else sources
    context = {
        "r": summary,
        "sources": shown,
        "more_sources": len(sources) - len(shown),
        "base_url": settings.CONFOPS_BASE_URL,
        "report_url": report_url(summary["day"]),
        "email": email,
    }
    return sanitise(render_to_string("reports/report_body.html", context))


def render_text(summary: dict[str, Any]) -> str:
    context = {
        "r": summary,
        "sources": [s for s in summary.get("sources", []) if attention(s)][:EMAIL_SOURCES],
        "base_url": settings.CONFOPS_BASE_URL,
        "report_url": report_url(summary["day"]),
    }
    return tidy(render_to_string("reports/report.txt", context))


def attention(line: dict[str, Any]) -> bool:
    return needs_attention(line["failed"], line["breaches"], line["state"])


def slack_blocks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The condensed summary (docs/reports.md): header, key numbers, worst sources, open
    critical alerts, a button to the full report and when it was made."""
    url = report_url(summary["day"])
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Daily report · {summary['day']}"[:150]},
        },
        section(slack_escape(summary["headline"])),
        {"type": "section", "fields": key_fields(summary)},
    ]
    worst = summary.get("worst", [])[:SLACK_WORST]
    if worst:
        blocks.append(section("*Worst sources*\n" + "\n".join(worst_line(s) for s in worst)))
    critical = summary["alerts"]["open_critical"][:SLACK_CRITICAL]
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


def critical_line(alert: dict[str, Any]) -> str:
    url = alert_url(alert["id"])
    label = slack_link(url, alert["subject"])
    return f"• {label}: {slack_escape(alert['rule'])} — {slack_escape(alert['summary'])}"
