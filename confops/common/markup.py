"""Escaping for each format confops sends text in: one helper per format, used by every message.

A source key, rule name, error or comment comes from users or from Dagster, so it is data, never
markup. HTML (pages, email bodies) is escaped by Django's autoescaping templates (and the daily
report's HTML is sanitised with nh3 as well); plain text (email subjects and text bodies) needs
none; JSON (the webhook) has no markup. Slack's mrkdwn is the one format here that Django does not
escape, so its helpers live in this module and every Slack text goes through them.
"""

from __future__ import annotations


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
