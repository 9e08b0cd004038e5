"""``{{ value|slack }}``: Slack mrkdwn escaping in templates that write Slack text (a ``slack.txt``
of a notification set); ``{{ source.key|breakable }}``: a long name in a page, escaped, that wraps
at its separators. Each through its one helper in ``confops.common.markup``."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from confops.common.markup import breakable_html, slack_escape, slack_link

register = template.Library()


@register.filter
def slack(value: object) -> str:
    return slack_escape(value)


@register.simple_tag
def slack_url(url: str, label: str) -> str:
    return slack_link(url, label)


@register.filter
def breakable(value: object) -> SafeString:
    """Escaped by ``breakable_html`` before it is marked safe."""
    return mark_safe(breakable_html(value))  # noqa: S308 - escaped, then only <wbr> added
