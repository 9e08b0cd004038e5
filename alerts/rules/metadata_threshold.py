"""A metadata value of the latest success crosses a threshold (default rule: duplicates > 0)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from alerts.rules._common import MetricKey, limits, metric_samples, run_details
from alerts.rules.base import Finding, Params, RuleKind, SourceHistory, register
from confops.common.formatting import number

Op = Literal[">", ">=", "<", "<=", "==", "!="]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class MetadataThresholdParams(Params):
    metric: MetricKey = Field(
        description="The metadata key of the latest successful run to compare (e.g. "
        "dagster/row_count)."
    )
    op: Op = Field(">", description="How the metric is compared with the value to fire.")
    value: Annotated[float, limits()] = Field(
        description="The number the metric is compared with, in the metric's own unit."
    )


@register
class MetadataThreshold(RuleKind):
    """Fires when ``metric op value`` holds for the latest successful run that reported the
    metric; clears when a newer one does not. No such run, no finding."""

    name = "metadata_threshold"
    consequence = True
    label = "Metadata threshold"
    params = MetadataThresholdParams
    overridable = ("value",)

    def threshold(self, params: MetadataThresholdParams) -> str:
        """The comparison itself."""
        return f"{params.metric} {params.op} {number(params.value)}"

    def evaluate_source(
        self, history: SourceHistory, params: MetadataThresholdParams, now: datetime
    ) -> Finding | None:
        latest = next(iter(metric_samples(history, params.metric)), None)
        if latest is None or not OPERATORS[params.op](latest.value, params.value):
            return None
        return Finding(
            summary=f"{history.key} {params.metric} {number(latest.value)} {params.op} "
            f"{number(params.value)}",
            since=latest.at,
            details={
                **run_details(latest.run),
                "metric": params.metric,
                "value": latest.value,
                "op": params.op,
                "threshold": params.value,
            },
            run_id=latest.run.run_id,
        )
