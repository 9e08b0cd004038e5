"""A metric's trend over successful runs, with the lines the volume rules judge it by.

Pure: takes samples and the parameters of the rules that apply (the page reads them from the
alert rules), returns chart series. The trailing average at a run is the mean of the runs before
it, as the volume-drop rule computes its baseline; a drop threshold is that average times
(100 - percent) %. The rule may compare with a lower same-weekday average instead (``seasonal``),
so the threshold line is the rule's usual bar, not always its exact one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from confops.common.formatting import number
from monitoring.charts import Level, Series

DEFAULT_WINDOW_RUNS = 7
DEFAULT_MIN_HISTORY = 3


@dataclass(frozen=True)
class Sample:
    at: datetime
    value: float


@dataclass(frozen=True)
class DropRule:
    """A volume-drop rule that judges this source and metric, with its effective parameters."""

    name: str
    percent: float
    window_runs: int = DEFAULT_WINDOW_RUNS
    min_history: int = DEFAULT_MIN_HISTORY


@dataclass(frozen=True)
class BoundRule:
    """A volume-bounds rule: fixed minimum and/or maximum."""

    name: str
    minimum: float | None
    maximum: float | None


def trailing_average(values: Sequence[float], window: int, min_history: int) -> list[float | None]:
    """For each value, the mean of the up to ``window`` values before it (None if too few)."""
    averages: list[float | None] = []
    for index in range(len(values)):
        before = values[max(0, index - window) : index]
        averages.append(fmean(before) if len(before) >= max(min_history, 1) else None)
    return averages


def trend_series(
    samples: Sequence[Sample],
    shown_from: datetime,
    metric: str,
    drops: Sequence[DropRule] = (),
) -> list[Series]:
    """The metric, its trailing average and one threshold line per drop rule.

    ``samples`` are oldest first and may start before ``shown_from``: earlier runs feed the
    average of the first points shown without being drawn.
    """
    values = [s.value for s in samples]
    shown = [i for i, s in enumerate(samples) if s.at >= shown_from]
    window = drops[0].window_runs if drops else DEFAULT_WINDOW_RUNS
    min_history = drops[0].min_history if drops else DEFAULT_MIN_HISTORY
    average = trailing_average(values, window, min_history)
    series = [
        Series(metric, [(samples[i].at, values[i]) for i in shown], "value", markers=True),
        Series(
            f"trailing average of {window} runs",
            [(samples[i].at, average[i]) for i in shown],
            "average",
        ),
    ]
    for rule in drops:
        base = trailing_average(values, rule.window_runs, rule.min_history)
        factor = (100 - rule.percent) / 100
        series.append(
            Series(
                f"{rule.name}: {number(100 - rule.percent)} % of the trailing average",
                [(samples[i].at, scaled(base[i], factor)) for i in shown],
                "threshold",
            )
        )
    return series


def scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def bound_levels(bounds: Sequence[BoundRule]) -> list[Level]:
    levels = []
    for rule in bounds:
        if rule.minimum is not None:
            levels.append(Level(f"{rule.name}: minimum", rule.minimum, "bound"))
        if rule.maximum is not None:
            levels.append(Level(f"{rule.name}: maximum", rule.maximum, "bound"))
    return levels
