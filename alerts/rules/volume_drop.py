"""A metric (rows loaded, by default) fell well below its recent level."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Annotated, Any

from pydantic import Field, StrictBool

from alerts.rules._common import RUNS, Sample, limits, run_details, utc_weekday
from alerts.rules._volume import (
    AUTO,
    METRIC_DESCRIPTION,
    VolumeMetric,
    chosen_metric,
    volume_samples,
)
from alerts.rules.base import (
    DropBand,
    Finding,
    Loosening,
    Params,
    RuleKind,
    SourceHistory,
    register,
)
from confops.common.formatting import number

# How far back same-weekday runs count for the seasonal baseline: five weeks of weekdays.
SEASON = timedelta(days=35)


class VolumeDropParams(Params):
    metric: VolumeMetric = Field(AUTO, description=METRIC_DESCRIPTION)
    percent: Annotated[float, limits(gt=0, le=100)] = Field(
        30, description="How far below the baseline the latest value must fall to fire."
    )
    window_runs: Annotated[int, limits(ge=1)] = Field(
        7, description="How many earlier successful runs make the baseline."
    )
    min_history: Annotated[int, limits(ge=1)] = Field(
        3,
        description="The fewest earlier successful runs needed before it judges at all.",
        json_schema_extra=RUNS,
    )
    seasonal: StrictBool = Field(
        True,
        description="Use the same weekday's average instead when it is lower, so a weekly dip "
        "is not a drop.",
    )


@dataclass(frozen=True)
class Baseline:
    """What the latest value is compared with, and how to say so."""

    label: str
    value: float
    runs: int


@register
class VolumeDrop(RuleKind):
    """Fires when the latest successful value is more than ``percent`` below its baseline.

    The baseline is the mean over the previous ``window_runs`` successes. With ``seasonal`` the
    mean of the same UTC weekday over five weeks is used instead when it is lower, so a weekend
    dip that recurs every week is not a drop. Clears when a newer success is back in range.
    """

    name = "volume_drop"
    consequence = True
    label = "Volume drop"
    params = VolumeDropParams
    overridable = ("percent", "min_history")

    def loosened(self, parameters: dict[str, Any]) -> Loosening | None:
        """Ten points more drop, up to 90 %."""
        current = float(parameters.get("percent", 30))
        return Loosening("percent", current, min(current + 10, 90)) if current < 90 else None

    def chart_band(self, params: VolumeDropParams) -> DropBand:
        return DropBand(params.metric, params.percent, params.window_runs, params.min_history)

    def threshold(self, params: VolumeDropParams) -> str:
        """Drop below the baseline."""
        return f"over {number(params.percent)} %"

    def evaluate_source(
        self, history: SourceHistory, params: VolumeDropParams, now: datetime
    ) -> Finding | None:
        metric = chosen_metric(history, params.metric)
        if metric is None:
            return None
        samples = volume_samples(history, metric)
        baseline = choose_baseline(samples, params)
        if baseline is None or baseline.value <= 0:
            return None
        latest = samples[0]
        # Compare in percent so that an exact threshold (700 against 1,000 at 30%) is exact.
        if latest.value * 100 >= baseline.value * (100 - params.percent):
            return None
        drop = (baseline.value - latest.value) / baseline.value * 100
        return Finding(
            summary=f"{history.key} {metric} {number(latest.value)} is {drop:.0f}% below "
            f"its {baseline.label} of {number(baseline.value)} over {baseline.runs} runs",
            since=latest.at,
            details={
                **run_details(latest.run),
                "metric": metric,
                "metric_choice": params.metric,
                "value": latest.value,
                "baseline": baseline.value,
                "baseline_kind": baseline.label,
                "baseline_runs": baseline.runs,
                "drop_percent": round(drop, 1),
                "percent": params.percent,
            },
            run_id=latest.run.run_id,
        )


def choose_baseline(samples: list[Sample], params: VolumeDropParams) -> Baseline | None:
    trailing = samples[1 : params.window_runs + 1]
    if len(trailing) < params.min_history:
        return None
    baseline = Baseline("average", fmean(s.value for s in trailing), len(trailing))
    weekly = weekday_baseline(samples) if params.seasonal else None
    return min(baseline, weekly, key=lambda b: b.value) if weekly else baseline


def weekday_baseline(samples: list[Sample]) -> Baseline | None:
    """The mean of earlier runs on the latest run's UTC weekday, if at least two exist."""
    latest = samples[0]
    weekday = utc_weekday(latest.at)
    same = [s for s in samples[1:] if latest.at - s.at <= SEASON and utc_weekday(s.at) == weekday]
    if len(same) < 2:
        return None
    return Baseline(
        f"{calendar.day_name[weekday]} average", fmean(s.value for s in same), len(same)
    )
