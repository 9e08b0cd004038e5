"""Short, readable numbers and spans for pages: "3 h 5 min", "1,234". Pure functions.

Django's ``timesince`` says "3 hours, 5 minutes", which does not fit a grid cell and is slow
over a thousand cells; these are compact and cheap.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

MINUTE, HOUR, DAY = 60, 3600, 86400


def span(seconds: float | timedelta | None) -> str:
    """A duration in at most two units: "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"."""
    if seconds is None:
        return "—"
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    if not math.isfinite(seconds):
        return "—"
    total = max(round(seconds), 0)
    if total < MINUTE:
        return f"{total} s"
    for big, big_label, small, small_label in (
        (DAY, "d", HOUR, "h"),
        (HOUR, "h", MINUTE, "min"),
        (MINUTE, "min", 1, "s"),
    ):
        if total >= big:
            whole, rest = divmod(total, big)
            part = rest // small
            return f"{whole} {big_label} {part} {small_label}" if part else f"{whole} {big_label}"
    return f"{total} s"  # pragma: no cover - the loop always returns


def since(moment: datetime | None, now: datetime) -> str:
    """The coarse age of a moment: "5 min", "3 h", "2 d" (one unit reads fastest in a grid)."""
    if moment is None:
        return "—"
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < MINUTE:
        return f"{int(seconds)} s"
    if seconds < HOUR:
        return f"{int(seconds // MINUTE)} min"
    if seconds < 2 * DAY:
        return f"{int(seconds // HOUR)} h"
    return f"{int(seconds // DAY)} d"


def number(value: object) -> str:
    """A metric value: thousands separated, integers without decimals, others to 2 places."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"
