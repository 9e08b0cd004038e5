"""The tab carries the state on every portal page (issue 18).

``{{ page.counts|tab_title:"Status" }}``: a page that has counted already (status, alerts) titles
its tab from its own counts. Every other page gets the "(N) " prefix and the favicon from
``{% tab_count %}`` and ``{% tab_head %}`` in base.html: one grouped query
(``alerts.pages.counts.alert_counts``), run only when such a page is rendered for someone who may
see alerts, and shared by both tags through the request.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from alerts.pages.counts import AlertCounts, alert_counts, tab_prefix
from alerts.pages.counts import tab_title as title_of

register = template.Library()
CACHED = "_confops_tab_counts"


@register.filter
def tab_title(counts: AlertCounts, label: str) -> str:
    return title_of(label, counts)


def counts_for(request: HttpRequest | None) -> AlertCounts | None:
    """The open alerts counted once per request; None for a reader who may not see alerts."""
    user = getattr(request, "user", None)
    if request is None or user is None or not user.has_perm("alerts.view_alert"):
        return None
    if not hasattr(request, CACHED):
        setattr(request, CACHED, alert_counts())
    counts: AlertCounts = getattr(request, CACHED)
    return counts


@register.simple_tag(takes_context=True)
def tab_count(context: template.Context) -> str:
    """The title's "(N) " while N incidents fire."""
    counts = counts_for(context.get("request"))
    return tab_prefix(counts) if counts else ""


@register.inclusion_tag("alerts/partials/tab_head.html", takes_context=True)
def tab_head(context: template.Context) -> dict[str, Any]:
    """The favicon (worst firing state) and tabstate.js; nothing for who may not see alerts."""
    counts = counts_for(context.get("request"))
    return {"state": counts.tab_state() if counts else "", "tab_counts": counts}
