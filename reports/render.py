"""The daily report in its forms: HTML (email and portal) and plain text (the Slack transport
lays out the figures the outbox row carries: alerts/notify/transports/slack.py).

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

from alerts.notify.links import absolute
from alerts.notify.messages import tidy
from reports.builder import needs_attention

# The email lists the sources that need attention first, then stops: the rest is on the page.
EMAIL_SOURCES = 40

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
