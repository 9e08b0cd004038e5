"""A run that takes far longer than it should, finished or still going."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Annotated, Any

from pydantic import Field, model_validator

from alerts.rules._common import MAX_MINUTES, RUNS, limits, run_details
from alerts.rules.base import (
    Finding,
    Loosening,
    Params,
    RuleKind,
    RunSample,
    SourceHistory,
    StepTiming,
    register,
)
from confops.common.formatting import number, span

DEFAULT_FACTOR = 3.0
# A run that normally takes seconds is not "too long" at three times that: under five minutes
# nobody on call would act on it, whatever the ratio says.
DEFAULT_MIN_SECONDS = 300.0


class DurationParams(Params):
    max_minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] | None = Field(
        None, description="A fixed limit: longer than this is too long, whatever earlier runs took."
    )
    factor: Annotated[float, limits(gt=1)] | None = Field(
        None,
        description="A relative limit: this many times the median of earlier successful runs "
        "(3 when neither limit is set).",
        json_schema_extra={"unit": "\u00d7 median"},
    )
    window_runs: Annotated[int, limits(ge=1)] = Field(
        20, description="How many earlier successful runs make the median."
    )
    min_history: Annotated[int, limits(ge=1)] = Field(
        5,
        description="The fewest earlier successful runs needed before the relative limit applies.",
        json_schema_extra=RUNS,
    )
    # The absolute floor under the relative limit: factor x median fires only past it too.
    min_seconds: Annotated[float, limits(ge=0, le=MAX_MINUTES * 60)] = Field(
        DEFAULT_MIN_SECONDS,
        description="The relative limit is never shorter than this, so quick runs do not page.",
    )

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

    An asset is judged by its own step: the Dagster step that materialised it in that run,
    against the same asset's step durations in earlier runs, so one slow step of a multi-asset
    run flags the one asset it produced, not all of them. The run's own duration is judged
    instead when the step is not known (jobs, pushed sources, runs stored before step timing,
    runs still going) or too few earlier runs have step timing to make a median.

    The limit is ``max_minutes`` or ``factor`` times the median of earlier successful runs,
    whichever is tighter; the relative limit is never below ``min_seconds`` (a 2 s job is not
    "too long" at 11 s), while an explicit ``max_minutes`` is taken as given. Clears when a newer
    run finishes within the limit.
    """

    name = "duration"
    label = "Run too long"
    params = DurationParams
    overridable = ("max_minutes", "factor", "min_seconds")
    time_based = True

    def loosened(self, parameters: dict[str, Any]) -> Loosening | None:
        """One more time the median, for a rule set by factor (a fixed limit has no step)."""
        if not parameters.get("factor"):
            return None
        current = float(parameters["factor"])
        return Loosening("factor", current, current + 1)

    def threshold(self, params: DurationParams) -> str:
        """The relative and/or the fixed limit: "over 3x median", "over 1 h 30 min"."""
        limits_ = []
        if params.factor is not None:
            limits_.append(f"{number(params.factor)}x median")
        if params.max_minutes is not None:
            limits_.append(span(params.max_minutes * 60))
        return f"over {' or '.join(limits_)}" if limits_ else ""

    def next_check(
        self, history: SourceHistory, params: DurationParams, now: datetime
    ) -> datetime | None:
        """When the longest-running open run crosses its limit; a finished run is judged once,
        when it is stored (new data)."""
        running = [run.started_at for run in history.runs if run.started_at and not run.finished]
        limit = limit_for(params, durations(history.runs)) if running else None
        if limit is None:
            return None
        return max(now, min(running) + timedelta(seconds=limit.seconds))

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
    """The latest finished run, against the limit from the successes before it (worked out
    once per history: the clock only dates the finding)."""
    key = ("duration_over", tuple(params.__dict__.items()))
    over = history.remember(key, lambda: finished_over_limit(history, params))
    if over is None:
        return None
    run, step, seconds, limit = over
    if step is not None:
        return step_finding(history.key, run, step, limit, now)
    return finding(history.key, run, seconds, limit, now, "took")


def finished_over_limit(
    history: SourceHistory, params: DurationParams
) -> tuple[RunSample, StepTiming | None, float, Limit] | None:
    """The latest finished run (or its step) and the limit it went over; None within it."""
    index = next((i for i, run in enumerate(history.runs) if run.finished), None)
    if index is None:
        return None
    run = history.runs[index]
    earlier = history.runs[index + 1 :]
    step = judged_step(run, earlier, params)
    if step is not None:
        limit = limit_for(params, step_durations(earlier))
        if limit is None or step.seconds <= limit.seconds:
            return None
        return run, step, step.seconds, limit
    seconds = run_seconds(run)
    limit = limit_for(params, durations(earlier))
    if seconds is None or limit is None or seconds <= limit.seconds:
        return None
    return run, None, seconds, limit


def judged_step(
    run: RunSample, earlier: tuple[RunSample, ...], params: DurationParams
) -> StepTiming | None:
    """The run's step for this asset when it can be judged on its own: its timing is known and,
    for a relative limit, enough earlier runs have theirs (step and run durations don't mix)."""
    if run.step is None:
        return None
    enough = len(step_durations(earlier)[: params.window_runs]) >= params.min_history
    return run.step if enough or params.factor is None else None


def step_durations(runs: tuple[RunSample, ...]) -> list[float]:
    """This asset's own step durations in successful runs, newest first."""
    return [run.step.seconds for run in runs if run.succeeded and run.step is not None]


def limit_for(params: DurationParams, history: list[float]) -> Limit | None:
    candidates = []
    if params.max_minutes is not None:
        candidates.append(Limit(params.max_minutes * 60))
    relative = relative_limit(params, history[: params.window_runs])
    if relative is not None:
        candidates.append(relative)
    return min(candidates, key=lambda limit: limit.seconds, default=None)


def relative_limit(params: DurationParams, recent: list[float]) -> Limit | None:
    """``factor`` times the median, raised to the ``min_seconds`` floor (which the message names,
    so a limit that is not 3x the median does not claim to be)."""
    if params.factor is None or len(recent) < params.min_history or median(recent) <= 0:
        return None
    typical = median(recent)
    seconds = params.factor * typical
    ratio = f"{number(params.factor)}x the median of {span(typical)}"
    if seconds < params.min_seconds:
        return Limit(params.min_seconds, f" (the min_seconds floor; {ratio} is below it)")
    return Limit(seconds, f" ({ratio})")


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


def step_finding(
    key: str, run: RunSample, step: StepTiming, limit: Limit, now: datetime
) -> Finding:
    """Names the step it judged, so nobody reads the whole run as slow."""
    started, total = step.started_at or run.started_at, run_seconds(run)
    crossed = started + timedelta(seconds=limit.seconds) if started else None
    return Finding(
        summary=f"{key}: step {step.key} of run {run.run_id} took {span(step.seconds)}, over "
        f"its limit of {span(limit.seconds)}{limit.why}",
        since=crossed or run.at or now,
        details={
            **run_details(run),
            "step_key": step.key,
            "duration_s": round(step.seconds, 1),
            "run_duration_s": None if total is None else round(total, 1),
            "limit_s": round(limit.seconds, 1),
            "limit": limit.why.strip(" ()") or "max_minutes",
        },
        run_id=run.run_id,
    )


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
