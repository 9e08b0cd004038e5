"""A run that started long ago and never reported an end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from alerts.rules._common import MAX_HOURS, iso, limits, run_details
from alerts.rules.base import Finding, Params, RuleKind, SourceHistory, register
from confops.common.formatting import number, span


class RunNeverFinishedParams(Params):
    max_hours: Annotated[float, limits(gt=0, le=MAX_HOURS)] = Field(
        6, description="How long a run may go on without finishing before it fires."
    )


@register
class RunNeverFinished(RuleKind):
    """Fires while a run has been open for more than ``max_hours``; clears when it ends.

    The main case is a pushed job that reported ``start`` and then died without ``success`` or
    ``failure``; a Dagster run stuck in STARTED (a lost run worker) is the other.
    """

    name = "run_never_finished"
    label = "Run never finished"
    params = RunNeverFinishedParams
    overridable = ("max_hours",)
    time_based = True

    def threshold(self, params: RunNeverFinishedParams) -> str:
        """How long a pushed run may stay open."""
        return f"after {span(params.max_hours * 3600)}"

    def next_check(
        self, history: SourceHistory, params: RunNeverFinishedParams, now: datetime
    ) -> datetime | None:
        """When the oldest open run passes the limit; None while no run is open."""
        started = [run.started_at for run in history.runs if run.started_at and not run.finished]
        if not started:
            return None
        return max(now, min(started) + timedelta(hours=params.max_hours))

    def evaluate_source(
        self, history: SourceHistory, params: RunNeverFinishedParams, now: datetime
    ) -> Finding | None:
        limit = timedelta(hours=params.max_hours)
        stuck = [
            (run.started_at, run)
            for run in history.runs
            if run.started_at and not run.finished and now - run.started_at > limit
        ]
        if not stuck:
            return None
        started_at, run = min(stuck, key=lambda pair: pair[0])
        return Finding(
            summary=f"{history.key} run {run.run_id} ({run.status}) started "
            f"{span((now - started_at).total_seconds())} ago and has not finished "
            f"(limit {number(params.max_hours)} h)",
            since=started_at + limit,
            details={
                **run_details(run),
                "max_hours": params.max_hours,
                "stuck_runs": [
                    {"run_id": other.run_id, "started_at": iso(at)} for at, other in stuck
                ],
            },
            run_id=run.run_id,
        )
