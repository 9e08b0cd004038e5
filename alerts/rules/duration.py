"""A run that takes far longer than it should, finished or still going."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Annotated, Any

from pydantic import model_validator

from alerts.rules._common import MAX_MINUTES, limits, run_details
from alerts.rules.base import (
    Finding,
    Loosening,
    Params,
    RuleKind,
    RunSample,
    SourceHistory,
    register,
)
from confops.common.formatting import number, span

DEFAULT_FACTOR = 3.0


class DurationParams(Params):
    max_minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] | None = None
    factor: Annotated[float, limits(gt=1)] | None = None
    window_runs: Annotated[int, limits(ge=1)] = 20
    min_history: Annotated[int, limits(ge=1)] = 5

    @model_validator(mode="before")
    @classmethod
    def default_factor(cls, data: Any) -> Any:
        """With neither limit the rule would judge nothing, so the relative one applies (3x)."""
        if not isinstance(data, dict):
            return data
        if data.get("max_minutes") is None and data.get("factor") is None:
            return {**data, "factor": DEFAULT_FACTOR}
        return data


@dataclass(frozen=True)
class Limit:
    """The tighter of the absolute and the relative limit, and how it was reached."""

    seconds: float
    why: str = ""


@register
class Duration(RuleKind):
    """Fires when the latest finished run took longer than the limit, or a run in progress has
    already been going longer (hence time-based: it can fire before the run ends).

    The limit is ``max_minutes`` or ``factor`` times the median of earlier successful runs,
    whichever is tighter. Clears when a newer run finishes within the limit.
    """

    name = "duration"
    label = "Run too long"
    params = DurationParams
    overridable = ("max_minutes", "factor")
    time_based = True

    def loosened(self, parameters: dict[str, Any]) -> Loosening | None:
        """One more time the median, for a rule set by factor (a fixed limit has no step)."""
        if not parameters.get("factor"):
            return None
        current = float(parameters["factor"])
        return Loosening("factor", current, current + 1)

    def evaluate_source(
        self, history: SourceHistory, params: DurationParams, now: datetime
    ) -> Finding | None:
        return judge_running(history, params, now) or judge_finished(history, params, now)


def judge_running(history: SourceHistory, params: DurationParams, now: datetime) -> Finding | None:
    """The longest-running open run, against the limit from all successes so far."""
    running = [(run.started_at, run) for run in history.runs if run.started_at and not run.finished]
    if not running:
        return None
    started_at, run = min(running, key=lambda pair: pair[0])
    limit = limit_for(params, durations(history.runs))
    elapsed = (now - started_at).total_seconds()
    if limit is None or elapsed <= limit.seconds:
        return None
    return finding(history.key, run, elapsed, limit, now, "has been running for")


def judge_finished(history: SourceHistory, params: DurationParams, now: datetime) -> Finding | None:
    """The latest finished run, against the limit from the successes before it."""
    index = next((i for i, run in enumerate(history.runs) if run.finished), None)
    if index is None:
        return None
    run = history.runs[index]
    seconds = run_seconds(run)
    limit = limit_for(params, durations(history.runs[index + 1 :]))
    if seconds is None or limit is None or seconds <= limit.seconds:
        return None
    return finding(history.key, run, seconds, limit, now, "took")


def limit_for(params: DurationParams, history: list[float]) -> Limit | None:
    candidates = []
    if params.max_minutes is not None:
        candidates.append(Limit(params.max_minutes * 60))
    recent = history[: params.window_runs]
    if params.factor is not None and len(recent) >= params.min_history and median(recent) > 0:
        typical = median(recent)
        why = f" ({number(params.factor)}x the median of {span(typical)})"
        candidates.append(Limit(params.factor * typical, why))
    return min(candidates, key=lambda limit: limit.seconds, default=None)


def durations(runs: tuple[RunSample, ...]) -> list[float]:
    """Durations of successful runs, newest first (failures end early or hang: not typical)."""
    found = (run_seconds(run) for run in runs if run.succeeded)
    return [seconds for seconds in found if seconds is not None]


def run_seconds(run: RunSample) -> float | None:
    if run.duration_s is not None:
        return run.duration_s
    if run.started_at and run.ended_at:
        return (run.ended_at - run.started_at).total_seconds()
    return None


def finding(
    key: str, run: RunSample, seconds: float, limit: Limit, now: datetime, verb: str
) -> Finding:
    """``since`` is when the run crossed the limit, the same whether it is running or done."""
    crossed = run.started_at + timedelta(seconds=limit.seconds) if run.started_at else None
    return Finding(
        summary=f"{key} run {run.run_id} {verb} {span(seconds)}, over its limit of "
        f"{span(limit.seconds)}{limit.why}",
        since=crossed or run.at or now,
        details={
            **run_details(run),
            "duration_s": round(seconds, 1),
            "limit_s": round(limit.seconds, 1),
            "limit": limit.why.strip(" ()") or "max_minutes",
        },
        run_id=run.run_id,
    )
