"""``{{ value|slack }}``: Slack mrkdwn escaping in templates that write Slack text (a ``slack.txt``
of a notification set), through the one helper in ``confops.common.markup``."""

from __future__ import annotations

from django import template

from confops.common.markup import slack_escape, slack_link

register = template.Library()


@register.filter
def slack(value: object) -> str:
    return slack_escape(value)


@register.simple_tag
def slack_url(url: str, label: str) -> str:
    return slack_link(url, label)
