"""Escaping for each format confops sends text in: one helper per format, used by every message.

A source key, rule name, error or comment comes from users or from Dagster, so it is data, never
markup. HTML (pages, email bodies) is escaped by Django's autoescaping templates (and the daily
report's HTML is sanitised with nh3 as well); plain text (email subjects and text bodies) needs
none; JSON (the webhook) has no markup. Slack's mrkdwn is the one format here that Django does not
escape, so its helpers live in this module and every Slack text goes through them; so does the
Markdown of Microsoft Teams' Adaptive Cards. So does ``breakable_html``, the HTML of a long
name that may wrap at its separators.
"""

from __future__ import annotations

import re
from html import escape


def slack_escape(text: object) -> str:
    """Slack reads ``&``, ``<`` and ``>`` as control characters (``<!channel>`` pings everyone,
    ``<http://x|label>`` disguises a link); escaped as Slack documents, they show as typed
    (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """A Slack link to ``url`` that shows ``label``. The URL is escaped too, and a ``|`` in it
    percent-encoded, so a hostile run id in a Dagster URL cannot close the link early or pick
    its own label."""
    return f"<{slack_escape(url).replace('|', '%7C')}|{slack_escape(label)}>"


# Adaptive Card TextBlocks (Microsoft Teams) read a Markdown subset: emphasis (``*``, ``_``),
# links (``[label](url)``), lists and headings; ``{{DATE(...)}}`` and ``{{TIME(...)}}`` are date
# and time functions (https://learn.microsoft.com/en-us/adaptive-cards/authoring-cards/text-features).
TEAMS_MARKS = re.compile(r"([\\*_\[\]()#>~`|!])")
TEAMS_LIST_START = re.compile(r"^(\s*)(?:([-+])|(\d+)\.)", re.M)
ZERO_WIDTH_SPACE = "\u200b"


def teams_escape(text: object) -> str:
    """A text from users or Dagster as an Adaptive Card shows it as typed: each Markdown mark
    backslash-escaped (a line opening with ``-`` or ``1.`` too, not to become a list), and
    ``{{``/``}}`` split with a zero-width space so ``{{DATE(...)}}`` is not a date function."""
    escaped = TEAMS_MARKS.sub(r"\\\1", str(text))
    escaped = TEAMS_LIST_START.sub(list_mark_escaped, escaped)
    return escaped.replace("{{", "{" + ZERO_WIDTH_SPACE + "{").replace(
        "}}", "}" + ZERO_WIDTH_SPACE + "}"
    )


def list_mark_escaped(match: re.Match[str]) -> str:
    """``- x`` as ``\\- x``, ``1. x`` as ``1\\. x``: a list marker shown as typed."""
    indent, bullet, number = match.groups()
    return f"{indent}\\{bullet}" if bullet else f"{indent}{number}\\."


# After each of these a long name (``retail/catalog/weekly_summary``, ``elra_conferences``) may
# wrap: <wbr> offers the break, so a narrow cell breaks it between its parts, not mid-word.
WRAP_AFTER = str.maketrans({sep: sep + "<wbr>" for sep in "_/.-"})


def breakable_html(text: object) -> str:
    """``text`` as HTML that may wrap after ``_``, ``/``, ``.`` and ``-``. Escaped first (none of
    ``&amp;``, ``&lt;``, ``&gt;``, ``&quot;``, ``&#x27;`` holds a separator), so the only markup in
    the result is the <wbr> inserted here; a str.translate, cheap on the status page's thousand
    cells."""
    return escape(str(text)).translate(WRAP_AFTER)
