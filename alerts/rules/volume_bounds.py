"""A metric outside fixed bounds someone knows to be right."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from alerts.rules._common import limits, run_details
from alerts.rules._volume import (
    AUTO,
    METRIC_DESCRIPTION,
    VolumeMetric,
    chosen_metric,
    volume_samples,
)
from alerts.rules.base import BoundsBand, Finding, Params, RuleKind, SourceHistory, register
from confops.common.formatting import number

Bound = Annotated[float, limits()] | None


class VolumeBoundsParams(Params):
    metric: VolumeMetric = Field(AUTO, description=METRIC_DESCRIPTION)
    min: Bound = Field(
        None, description="Fire when the latest value is below this; empty for no lower bound."
    )
    max: Bound = Field(
        None, description="Fire when the latest value is above this; empty for no upper bound."
    )

    @model_validator(mode="after")
    def check_bounds(self) -> VolumeBoundsParams:
        """Without a bound the rule judges nothing; crossed bounds make it always fire."""
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


@register
class VolumeBounds(RuleKind):
    """Fires when the latest successful value is below min or above max (bounds themselves are
    fine); clears when a newer success is back inside."""

    name = "volume_bounds"
    consequence = True
    label = "Volume outside bounds"
    params = VolumeBoundsParams
    overridable = ("min", "max")

    def chart_band(self, params: VolumeBoundsParams) -> BoundsBand:
        return BoundsBand(params.metric, params.min, params.max)

    def threshold(self, params: VolumeBoundsParams) -> str:
        """The bounds: "below 1", "above 5,000" or "outside 1 to 5,000"."""
        if params.min is not None and params.max is not None:
            return f"outside {number(params.min)} to {number(params.max)}"
        if params.min is not None:
            return f"below {number(params.min)}"
        return f"above {number(params.max)}" if params.max is not None else ""

    def evaluate_source(
        self, history: SourceHistory, params: VolumeBoundsParams, now: datetime
    ) -> Finding | None:
        metric = chosen_metric(history, params.metric)
        if metric is None:
            return None
        latest = next(iter(volume_samples(history, metric)), None)
        if latest is None:
            return None
        if params.min is not None and latest.value < params.min:
            side, bound = "below the minimum", params.min
        elif params.max is not None and latest.value > params.max:
            side, bound = "above the maximum", params.max
        else:
            return None
        return Finding(
            summary=f"{history.key} {metric} {number(latest.value)} is {side} of {number(bound)}",
            since=latest.at,
            details={
                **run_details(latest.run),
                "metric": metric,
                "metric_choice": params.metric,
                "value": latest.value,
                "min": params.min,
                "max": params.max,
            },
            run_id=latest.run.run_id,
        )
