"""Server-rendered SVG line charts: a pure function of series and levels, returning markup.

No JavaScript and no chart library: the source page draws a metric over 30 days with its
trailing average and the thresholds of the rules that judge it. Every text that reaches the
markup goes through ``format_html`` (labels can come from rule names and metric keys, which
operators type). Colours come from CSS classes (``static/confops/confops.css``); the lines also
differ by dash pattern, so they stay apart for readers who do not see the colours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from confops.common.formatting import number

Point = tuple[datetime, float | None]

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 12, 30
MAX_MARKERS = 250  # beyond this, dots hide the line; the table below lists the runs
TIME_STEPS = [timedelta(hours=h) for h in (1, 3, 6, 12, 24, 48, 5 * 24, 7 * 24, 14 * 24, 30 * 24)]


@dataclass(frozen=True)
class Series:
    """A line through points; ``None`` values break it (no data there)."""

    label: str
    points: Sequence[Point]
    css: str
    markers: bool = False


@dataclass(frozen=True)
class Level:
    """A horizontal line at a fixed value, such as a rule's minimum."""

    label: str
    value: float
    css: str


@dataclass(frozen=True)
class Frame:
    """Maps data to the drawing area."""

    start: datetime
    end: datetime
    low: float
    high: float
    width: int
    height: int

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / span
        return MARGIN_LEFT + share * (self.width - MARGIN_LEFT - MARGIN_RIGHT)

    def y(self, value: float) -> float:
        share = (value - self.low) / ((self.high - self.low) or 1.0)
        return self.height - MARGIN_BOTTOM - share * (self.height - MARGIN_TOP - MARGIN_BOTTOM)


def line_chart(
    series: Sequence[Series],
    levels: Sequence[Level] = (),
    *,
    start: datetime,
    end: datetime,
    title: str,
    description: str = "",
    width: int = 760,
    height: int = 260,
    element_id: str = "chart",
    time_format: Callable[[datetime], str] = lambda moment: moment.strftime("%d %b"),
) -> SafeString:
    """An ``<svg>`` with axes, gridlines, one path per series and one line per level."""
    drawn = [v for s in series for _, v in s.points if v is not None and math.isfinite(v)]
    low, high = value_range(drawn + [lv.value for lv in levels if math.isfinite(lv.value)])
    frame = Frame(start, end, low, high, width, height)
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc"'
            ' preserveAspectRatio="xMidYMid meet">'
            '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
            width,
            height,
            element_id,
            element_id,
            element_id,
            title,
            element_id,
            description,
        ),
        y_axis(frame),
        x_axis(frame, time_format),
    ]
    if not drawn:
        parts.append(
            format_html(
                '<text class="chart-empty" x="{}" y="{}" text-anchor="middle">No data</text>',
                width / 2,
                height / 2,
            )
        )
    parts += [level_line(frame, level) for level in levels if math.isfinite(level.value)]
    parts += [path(frame, s) for s in series]
    parts += [markers(frame, s) for s in series if s.markers]
    parts.append(SafeString("</svg>"))
    return join(parts)


def join(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def value_range(values: Sequence[float]) -> tuple[float, float]:
    """From zero (counts read honestly from zero) to a round number above the largest value."""
    if not values:
        return 0.0, 1.0
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    if high == low:
        high = low + 1.0
    step = nice_step((high - low) / 4)
    return math.floor(low / step) * step, math.ceil(high * 1.05 / step) * step


def nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return 10.0 * power  # pragma: no cover - factor 10 always qualifies


def y_axis(frame: Frame) -> SafeString:
    step = nice_step((frame.high - frame.low) / 4)
    lines = []
    value = frame.low
    while value <= frame.high + step / 1000:
        y = round(frame.y(value), 1)
        lines.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
                MARGIN_LEFT,
                frame.width - MARGIN_RIGHT,
                y,
                y,
                MARGIN_LEFT - 6,
                y + 4,
                number(round(value, 6)),
            )
        )
        value += step
    return join(lines)


def x_axis(frame: Frame, time_format: Callable[[datetime], str]) -> SafeString:
    span = frame.end - frame.start
    step = next((s for s in TIME_STEPS if span / s <= 7), TIME_STEPS[-1])
    first = frame.start.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0)
    while first < frame.start:
        first += step
    baseline = frame.height - MARGIN_BOTTOM
    labels, moment = [], first
    while moment <= frame.end:
        x = round(frame.x(moment), 1)
        labels.append(
            format_html(
                '<line class="chart-tick" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                x,
                x,
                baseline,
                baseline + 4,
                x,
                baseline + 18,
                time_format(moment),
            )
        )
        moment += step
    axis = format_html(
        '<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
        MARGIN_LEFT,
        frame.width - MARGIN_RIGHT,
        baseline,
        baseline,
    )
    return join([axis, *labels])


def level_line(frame: Frame, level: Level) -> SafeString:
    y = round(frame.y(level.value), 1)
    return format_html(
        '<line class="chart-level {}" x1="{}" x2="{}" y1="{}" y2="{}"><title>{}: {}</title></line>',
        level.css,
        MARGIN_LEFT,
        frame.width - MARGIN_RIGHT,
        y,
        y,
        level.label,
        number(level.value),
    )


def path(frame: Frame, series: Series) -> SafeString:
    """One path; a gap in the data (a ``None``) starts a new sub-path."""
    commands, pen_down = [], False
    for moment, value in series.points:
        if value is None or not math.isfinite(value):
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{frame.x(moment):.1f} {frame.y(value):.1f}")
        pen_down = True
    if not commands:
        return SafeString("")
    return format_html(
        '<path class="chart-line {}" d="{}"><title>{}</title></path>',
        series.css,
        " ".join(commands),
        series.label,
    )


def markers(frame: Frame, series: Series) -> SafeString:
    points = [(m, v) for m, v in series.points if v is not None and math.isfinite(v)]
    if len(points) > MAX_MARKERS:
        return SafeString("")
    return format_html_join(
        "",
        '<circle class="chart-dot {}" cx="{}" cy="{}" r="3"><title>{}: {}</title></circle>',
        (
            (
                series.css,
                f"{frame.x(m):.1f}",
                f"{frame.y(v):.1f}",
                m.strftime("%Y-%m-%d %H:%M"),
                number(v),
            )
            for m, v in points
        ),
    )
