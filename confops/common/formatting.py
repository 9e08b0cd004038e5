"""How confops writes a duration, a number and an age, everywhere: one rendering per value.

An alert summary, a Slack or email message, a page, the daily report and the watcher all call
these, so 100,000 s reads "1 d 3 h" and 1,234.5 reads "1,234.5" wherever a person meets them.
The forms are the ones a reader of a grid cell, a chat line and an email all parse at a glance:

- a duration in at most two units, largest first ("42 s", "3 min 5 s", "2 h 10 min",
  "1 d 3 h"): exact enough to compare with a limit, short enough for a cell. Decimal hours
  ("27.8 h") make the reader do arithmetic; three units ("1 d 3 h 46 min") do not fit a cell.
- a number with thousands separators and at most two decimals, trailing zeros dropped
  ("1,234", "1,234.5", "0.35"): counts stay whole, ratios keep their digits, and no false
  precision ("1,234.50") or silent rounding of a half ("1,234").
- an age in one coarse unit ("5 min", "3 h", "2 d"), for "polled 3 h ago" in a grid.

Pure functions, no Django, no models: the lowest layer every app may import. Django's
``timesince`` says "3 hours, 5 minutes", which does not fit a grid cell and is slow over a
thousand cells.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.utils import timezone

MINUTE, HOUR, DAY = 60, 3600, 86400
MISSING = "—"

UNITS = (
    (DAY, "d", HOUR, "h"),
    (HOUR, "h", MINUTE, "min"),
    (MINUTE, "min", 1, "s"),
)


def span(seconds: float | timedelta | None) -> str:
    """A duration in at most two units: "42 s", "3 min 5 s", "2 h 10 min", "1 d 3 h"."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    total = max(round(seconds), 0)
    for big, big_label, small, small_label in UNITS:
        if total >= big:
            whole, rest = divmod(total, big)
            part = rest // small
            return f"{whole} {big_label} {part} {small_label}" if part else f"{whole} {big_label}"
    return f"{total} s"


def since(moment: datetime | None, now: datetime) -> str:
    """The coarse age of a moment: "5 min", "3 h", "2 d" (one unit reads fastest in a grid)."""
    if moment is None:
        return MISSING
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < MINUTE:
        return f"{int(seconds)} s"
    if seconds < HOUR:
        return f"{int(seconds // MINUTE)} min"
    if seconds < 2 * DAY:
        return f"{int(seconds // HOUR)} h"
    return f"{int(seconds // DAY)} d"


def clock(moment: datetime) -> str:
    """A moment as the wall clock of the active time zone: "14:10" (a time today or soon)."""
    return timezone.localtime(moment).strftime("%H:%M")


def number(value: object) -> str:
    """A count or measure: "1,234", "1,234.5", "0.35"; "—" for nothing, text as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING if value is None else str(value)
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    if text in ("0", "-0"):  # 0.004 is not nothing: keep its first significant digits
        return f"{value:.2g}"
    return text
