"""The daily report's own filters (a signed change, a bar width); numbers and durations come
from ``confops/templatetags/formatting.py`` like every other page's."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def signed(value: float | None) -> str:
    """+12.5 or \u221230 (a minus sign): a change with its direction."""
    if value is None:
        return ""
    return f"+{value:g}" if value > 0 else f"\u2212{abs(value):g}" if value < 0 else "±0"


@register.filter
def bar_width(percent: float | None) -> int:
    """A bar cell's width in whole percent; a non-empty share stays visible (at least 1 %)."""
    if not percent:
        return 0
    return max(1, round(percent))
