"""Template filters over ``confops.common.formatting``, for every app's templates:
``{{ run.duration_s|span }}``, ``{{ value|number }}``, ``{{ moment|ago }}``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from confops.common import formatting

register = template.Library()


@register.filter
def span(value: float | timedelta | None) -> str:
    return formatting.span(value)


@register.filter
def span_minutes(minutes: float | None) -> str:
    """A span stored in whole minutes (the report's stale time): ``1500`` -> "1 d 1 h"."""
    return formatting.span(None if minutes is None else minutes * 60)


@register.filter
def number(value: object) -> str:
    return formatting.number(value)


@register.filter
def clock(moment: datetime | None) -> str:
    """A moment as the wall clock ("11:30"), as pages and messages say it."""
    return "" if moment is None else formatting.clock(moment)


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago, coarsely ("3 h ago"), or "never"."""
    if moment is None:
        return "never"
    return f"{formatting.since(moment, timezone.now())} ago"
