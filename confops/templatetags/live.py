"""``{% live_poll "region-id" %}``: makes the region holding it refresh itself (see
``confops.common.htmx.live_region``); every self-refreshing list uses this one tag.
``{% live_noscript_reload %}`` in a self-refreshing page's head reloads it without JavaScript."""

from __future__ import annotations

from typing import Any

from django import template

from confops.common import htmx

register = template.Library()


@register.inclusion_tag("live/poll.html", takes_context=True)
def live_poll(context: template.Context, target: str) -> dict[str, Any]:
    return {"live": htmx.live_region(context["request"], target)}


@register.simple_tag
def noscript_reload_seconds() -> int:
    return htmx.noscript_reload_seconds()


@register.inclusion_tag("live/noscript_reload.html")
def live_noscript_reload() -> dict[str, Any]:
    return {"every": htmx.noscript_reload_seconds()}
