"""Number formatting for the daily report's templates (email and page alike)."""

from __future__ import annotations

from django import template

from alerts.rules._common import number as format_number

register = template.Library()


@register.filter
def number(value: float | int | None) -> str:
    """1,208 for counts, 0.35 for ratios."""
    return "\u2013" if value is None else format_number(float(value))


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
