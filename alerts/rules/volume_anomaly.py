"""A metric far outside its recent spread, in either direction."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from statistics import fmean, stdev
from typing import Annotated

from pydantic import Field, StrictBool

from alerts.rules._common import (
    MAX_DAYS,
    RUNS,
    Sample,
    limits,
    run_details,
    utc_weekday,
)
from alerts.rules._volume import (
    AUTO,
    METRIC_DESCRIPTION,
    VolumeMetric,
    chosen_metric,
    volume_samples,
)
from alerts.rules.base import Finding, Params, RuleKind, SourceHistory, register
from confops.common.formatting import number

# The standard deviation is floored at 1% of the mean: a series that barely moves (1,000 rows
# every day) would otherwise fire on the first run with 1,003.
RELATIVE_FLOOR = 0.01
EPSILON = 1e-9


class VolumeAnomalyParams(Params):
    metric: VolumeMetric = Field(AUTO, description=METRIC_DESCRIPTION)
    z: Annotated[float, limits(gt=0)] = Field(
        3,
        description="How many standard deviations from the mean the latest value must be to fire.",
        json_schema_extra={"unit": "standard deviations"},
    )
    window_days: Annotated[int, limits(gt=0, le=MAX_DAYS)] = Field(
        14, description="How far back earlier successful runs make the mean and spread."
    )
    per_weekday: StrictBool = Field(
        False, description="Compare only with earlier runs on the same UTC weekday."
    )
    min_samples: Annotated[int, limits(ge=2)] = Field(
        7,
        description="The fewest earlier successful runs needed before it judges at all.",
        json_schema_extra=RUNS,
    )


@register
class VolumeAnomaly(RuleKind):
    """Fires when the latest successful value is more than ``z`` standard deviations from the
    mean of earlier successes within ``window_days`` (the same weekday only, if asked).

    Clears when a newer success is back within the spread.
    """

    name = "volume_anomaly"
    consequence = True
    label = "Volume anomaly"
    params = VolumeAnomalyParams
    overridable = ("z",)

    def threshold(self, params: VolumeAnomalyParams) -> str:
        """Standard deviations from the mean."""
        return f"beyond {number(params.z)} standard deviations"

    def evaluate_source(
        self, history: SourceHistory, params: VolumeAnomalyParams, now: datetime
    ) -> Finding | None:
        metric = chosen_metric(history, params.metric)
        if metric is None:
            return None
        samples = volume_samples(history, metric)
        if not samples:
            return None
        latest, earlier = samples[0], comparable(samples, params)
        if len(earlier) < params.min_samples:
            return None
        mean = fmean(s.value for s in earlier)
        spread = max(stdev(s.value for s in earlier), RELATIVE_FLOOR * abs(mean), EPSILON)
        score = (latest.value - mean) / spread
        if abs(score) <= params.z:
            return None
        direction = "above" if score > 0 else "below"
        day = f" {calendar.day_name[utc_weekday(latest.at)]}" if params.per_weekday else ""
        return Finding(
            summary=f"{history.key} {metric} {number(latest.value)} is {abs(score):.1f} "
            f"standard deviations {direction} its mean of {number(mean)} "
            f"({len(earlier)}{day} runs in {params.window_days} days)",
            since=latest.at,
            details={
                **run_details(latest.run),
                "metric": metric,
                "metric_choice": params.metric,
                "value": latest.value,
                "mean": mean,
                "stdev": spread,
                "z": round(score, 2),
                "samples": len(earlier),
            },
            run_id=latest.run.run_id,
        )


def comparable(samples: list[Sample], params: VolumeAnomalyParams) -> list[Sample]:
    """Earlier samples inside the window (and on the latest's weekday, with per_weekday)."""
    latest = samples[0]
    window = timedelta(days=params.window_days)
    earlier = [s for s in samples[1:] if latest.at - s.at <= window]
    if params.per_weekday:
        earlier = [s for s in earlier if utc_weekday(s.at) == utc_weekday(latest.at)]
    return earlier
