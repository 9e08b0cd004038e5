"""The tab's title carries the firing count: ``{{ page.counts|tab_title:"Status" }}``."""

from __future__ import annotations

from django import template

from alerts.pages.counts import AlertCounts
from alerts.pages.counts import tab_title as title_of

register = template.Library()


@register.filter
def tab_title(counts: AlertCounts, label: str) -> str:
    return title_of(label, counts)
