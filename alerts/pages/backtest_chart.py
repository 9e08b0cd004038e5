"""The backtest as a result: a chart of the metric over the window with the threshold drawn, and
the alerts the saved and the edited settings would have fired, with their counts.

The chart is server-rendered SVG (``templates/alerts/partials/backtest_result.html``) drawn
with presentation attributes and classes only: the portal's Content-Security-Policy forbids
inline styles. This module computes coordinates; it draws nothing itself.

What is plotted: for a kind that draws a band on a source's metric chart (``chart_band``), that
metric of the source with the most alerts; for the others, run durations (minutes). The
threshold is the band's bounds, or for a drop band the level it fires below (the trailing
average less ``percent``), for each of the two settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from alerts.models import AlertRule
from alerts.pages.source import chosen_key
from alerts.replay.backtest import BacktestError, BacktestResult, backtest_many
from alerts.rules._volume import AUTO
from alerts.rules.base import BoundsBand, DropBand, kinds_answering
from confops.common.formatting import number
from monitoring.choices import SUCCESS_OUTCOMES
from monitoring.models import RunAsset, Source

WIDTH = 720
HEIGHT = 220
PAD_LEFT = 56
PAD_RIGHT = 12
PAD_TOP = 12
PLOT_BOTTOM = 170  # the metric's area ends here; the two marker rows sit below it
SAVED_ROW = 190
EDITED_ROW = 208


@dataclass
class Series:
    """Values of one source's metric (or run duration), oldest first."""

    label: str
    points: list[tuple[datetime, float]] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    label: str
    line: str  # the metric's polyline points
    dots: list[tuple[float, float]]
    saved_threshold: list[str]  # polylines
    edited_threshold: list[str]
    saved_marks: list[float]  # x of each alert
    edited_marks: list[float]
    saved_count: int
    edited_count: int
    y_top: str
    y_bottom: str
    since: datetime
    until: datetime
    days: int
    summary: str
    rows: dict[str, int] = field(default_factory=dict)

    compared: bool = True  # False for a rule not saved yet: there is no saved setting

    @property
    def counts(self) -> str:
        if not self.compared:
            return f"these settings: {plural(self.edited_count)}"
        return f"saved: {plural(self.saved_count)}, edited: {plural(self.edited_count)}"


def plural(count: int) -> str:
    return f"{count} alert{'' if count == 1 else 's'}"


def series_for(rule: AlertRule, params: Any, source: Source | None, since: datetime) -> Series:
    """The metric the rule's kind judges on ``source`` (its band's), else run minutes."""
    if source is None:
        return Series("no source in scope")
    band = None
    if rule.kind in kinds_answering("chart_band"):
        band = rule.kind_impl.chart_band(params)
    links = RunAsset.objects.filter(
        source=source, outcome__in=list(SUCCESS_OUTCOMES), run__ended_at__gte=since
    ).select_related("run")
    links = links.order_by("run__ended_at")
    if band is not None:
        key = chosen_key(source) if band.metric == AUTO else band.metric
        values = [
            (link.run.ended_at, float((link.metrics or {})[key]))
            for link in links
            if key and isinstance((link.metrics or {}).get(key), int | float)
        ]
        return Series(f"{key} of {source.key}", [(at, v) for at, v in values if at])
    durations = [
        (link.run.ended_at, link.run.duration_s / 60)
        for link in links
        if link.run.ended_at and link.run.duration_s is not None
    ]
    return Series(f"run minutes of {source.key}", durations)


def threshold_points(
    rule: AlertRule, params: Any, series: Series
) -> list[list[tuple[datetime, float]]]:
    """The lines the setting fires beyond, as (time, value) polylines."""
    if rule.kind not in kinds_answering("chart_band"):
        return []
    band = rule.kind_impl.chart_band(params)
    if isinstance(band, BoundsBand):
        ends = [series.points[0][0], series.points[-1][0]] if series.points else []
        return [
            [(at, bound) for at in ends]
            for bound in (band.minimum, band.maximum)
            if bound is not None and ends
        ]
    if isinstance(band, DropBand):
        return [drop_line(series, band)]
    return []


def drop_line(series: Series, band: DropBand) -> list[tuple[datetime, float]]:
    values = [v for _, v in series.points]
    line = []
    for index, (at, _) in enumerate(series.points):
        earlier = values[max(0, index - band.window_runs) : index]
        if len(earlier) >= band.min_history:
            line.append((at, fmean(earlier) * (1 - band.percent / 100)))
    return line


def busiest_source(rule: AlertRule, results: list[BacktestResult]) -> Source | None:
    """The source with the most alerts under either setting, else the first in scope."""
    counts: dict[str, int] = {}
    for result in results:
        for alert in result.alerts:
            counts[alert.source] = counts.get(alert.source, 0) + 1
    query = Source.objects.filter(is_gone=False)
    if counts:
        found = query.filter(key=max(counts, key=lambda key: counts[key])).first()
        if found is not None:
            return found
    return next((s for s in query.order_by("key") if rule.covers_source(s)), None)


def compare(rule: AlertRule, edited: AlertRule, days: int, now: datetime) -> dict[str, Any]:
    """The result panel's context (``partials/backtest_result.html``): ``rule`` as saved
    against ``edited`` (a changed copy), both replayed at once; only ``edited`` when ``rule``
    is not saved yet or changes kind. The portal's rule page and the admin both show it."""
    with_saved = rule.pk is not None and rule.kind == edited.kind
    jobs = [(rule, None), (edited, None)] if with_saved else [(edited, None)]
    try:
        results = backtest_many(jobs, days, now)
    except BacktestError as exc:
        return {"days": days, "backtest_error": str(exc)}
    saved = results[0] if with_saved else None
    return {"days": days, "chart": build(edited, saved, results[-1]), "result": results[-1]}


def build(
    rule: AlertRule,
    saved: BacktestResult | None,
    edited: BacktestResult,
) -> Chart:
    """The chart of the edited setting against the saved one (if any) over ``edited``'s window."""
    kind = rule.kind_impl
    edited_params = kind.parse_params(edited.parameters)
    source = busiest_source(rule, [edited] if saved is None else [saved, edited])
    series = series_for(rule, edited_params, source, edited.since)
    saved_lines = (
        [] if saved is None else threshold_points(rule, kind.parse_params(saved.parameters), series)
    )
    edited_lines = threshold_points(rule, edited_params, series)
    values = [v for _, v in series.points] + [
        v for line in saved_lines + edited_lines for _, v in line
    ]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low = min(low, 0.0)
    high = high if high > low else low + 1
    scale = Scale(edited.since, edited.until, low, high)
    saved_alerts = [] if saved is None else saved.alerts
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        label=series.label,
        line=" ".join(scale.xy(at, v) for at, v in series.points),
        dots=[scale.point(at, v) for at, v in series.points],
        saved_threshold=[" ".join(scale.xy(at, v) for at, v in line) for line in saved_lines],
        edited_threshold=[" ".join(scale.xy(at, v) for at, v in line) for line in edited_lines],
        saved_marks=[scale.x(datetime.fromisoformat(a.fired_at)) for a in saved_alerts],
        edited_marks=[scale.x(datetime.fromisoformat(a.fired_at)) for a in edited.alerts],
        saved_count=len(saved_alerts),
        edited_count=edited.fired,
        y_top=number(high),
        y_bottom=number(low),
        since=edited.since,
        until=edited.until,
        days=edited.days,
        summary=f"over {edited.sources} sources and {edited.runs} runs",
        rows={"saved": SAVED_ROW, "edited": EDITED_ROW, "bottom": PLOT_BOTTOM, "top": PAD_TOP},
        compared=saved is not None,
    )


@dataclass(frozen=True)
class Scale:
    since: datetime
    until: datetime
    low: float
    high: float

    def x(self, at: datetime) -> float:
        span = (self.until - self.since).total_seconds() or 1
        share = min(max((at - self.since).total_seconds() / span, 0.0), 1.0)
        return round(PAD_LEFT + share * (WIDTH - PAD_LEFT - PAD_RIGHT), 1)

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return round(PLOT_BOTTOM - share * (PLOT_BOTTOM - PAD_TOP), 1)

    def point(self, at: datetime, value: float) -> tuple[float, float]:
        return self.x(at), self.y(value)

    def xy(self, at: datetime, value: float) -> str:
        return f"{self.x(at)},{self.y(value)}"
