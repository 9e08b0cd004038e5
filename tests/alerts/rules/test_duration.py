"""duration: a run that took, or is taking, longer than its limit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from alerts.rules.base import StepTiming, kind
from tests.alerts.rules.factories import (
    KEY,
    NOW,
    failure,
    history,
    judge,
    param_errors,
    run,
    running,
    success,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)


def usual(count: int = 6, minutes: float = 10) -> list:
    """Earlier successes a day apart that each took ``minutes``."""
    return [success(NOW - timedelta(days=d + 1), minutes=minutes) for d in range(count)]


def test_no_history_is_no_finding() -> None:
    assert judge("duration", history()) is None


def test_one_run_has_no_median_to_compare_with() -> None:
    assert judge("duration", history(success(NOW - H, minutes=300))) is None


def test_one_run_over_max_minutes_fires() -> None:
    finding = judge("duration", history(success(NOW - H, minutes=45)), max_minutes=30)
    assert finding is not None
    assert finding.summary.endswith("took 45 min, over its limit of 30 min")


def test_a_run_three_times_the_median_fires() -> None:
    slow = success(NOW - H, minutes=40)
    finding = judge("duration", history(*usual(), slow))
    assert finding is not None
    assert finding.summary == (
        f"{KEY} run {slow.run_id} took 40 min, over its limit of 30 min (3x the median of 10 min)"
    )
    assert finding.run_id == slow.run_id
    assert finding.since == NOW - H - 40 * M + 30 * M  # when it crossed the limit
    json.dumps(finding.details)


def test_a_run_within_the_limit_is_no_finding() -> None:
    assert judge("duration", history(*usual(), success(NOW - H, minutes=25))) is None


def test_exactly_the_limit_is_no_finding() -> None:
    assert judge("duration", history(*usual(), success(NOW - H, minutes=30))) is None
    assert judge("duration", history(*usual(), success(NOW - H, minutes=30.1))) is not None


def test_a_slow_failure_counts_too() -> None:
    assert judge("duration", history(*usual(), failure(NOW - H, minutes=90))) is not None


def test_with_only_failures_there_is_no_median() -> None:
    fails = [failure(NOW - timedelta(days=d), minutes=10 + d * 60) for d in range(8)]
    assert judge("duration", history(*fails)) is None


def test_min_history_must_be_met() -> None:
    assert judge("duration", history(*usual(4), success(NOW - H, minutes=90))) is None
    assert judge("duration", history(*usual(5), success(NOW - H, minutes=90))) is not None


def test_the_median_comes_from_the_last_window_runs() -> None:
    runs = [*usual(3, minutes=10), *usual(20, minutes=60)[3:]]
    hist = history(*runs, success(NOW - H, minutes=40))
    assert judge("duration", hist, window_runs=3, min_history=3) is not None
    assert judge("duration", hist) is None


def test_the_tighter_of_both_limits_applies() -> None:
    hist = history(*usual(), success(NOW - H, minutes=25))
    finding = judge("duration", hist, max_minutes=20, factor=3)
    assert finding is not None and finding.details["limit"] == "max_minutes"
    assert judge("duration", history(*usual(), success(NOW - H, minutes=35)), factor=4) is None


def test_a_run_in_progress_fires_once_it_is_over_the_limit() -> None:
    open_run = running(NOW - 45 * M)
    finding = judge("duration", history(*usual(), open_run))
    assert finding is not None
    assert f"run {open_run.run_id} has been running for 45 min" in finding.summary
    assert finding.since == NOW - 45 * M + 30 * M
    assert kind("duration").time_based


def test_a_run_in_progress_within_the_limit_is_no_finding() -> None:
    assert judge("duration", history(*usual(), running(NOW - 20 * M))) is None


def test_a_queued_run_without_a_start_is_not_running() -> None:
    queued = run(None, status="QUEUED", outcome="planned", started_at=None)
    queued = type(queued)(**{**queued.__dict__, "started_at": None, "ended_at": None})
    assert judge("duration", history(*usual(), queued)) is None


def test_duration_is_computed_from_start_and_end_when_missing() -> None:
    slow = success(NOW - H, minutes=50)
    slow = type(slow)(**{**slow.__dict__, "duration_s": None})
    assert judge("duration", history(*usual(), slow)) is not None


def test_factor_defaults_to_3_only_when_neither_limit_is_given() -> None:
    assert kind("duration").parse_params({}).factor == 3  # type: ignore[attr-defined]
    only_max = kind("duration").parse_params({"max_minutes": 60})
    assert only_max.factor is None  # type: ignore[attr-defined]
    assert (
        judge("duration", history(*usual(), success(NOW - H, minutes=50)), max_minutes=60) is None
    )


def fast(count: int = 6) -> list:
    """Earlier successes of a job that usually takes 2 s."""
    return [success(NOW - timedelta(days=d + 1), minutes=2 / 60) for d in range(count)]


def test_a_fast_job_is_not_too_long_under_the_absolute_floor() -> None:
    """11 s is 5.5x a 2 s median, yet nobody on call would act on it: the floor is 5 min."""
    hist = history(*fast(), success(NOW - H, minutes=11 / 60))
    assert judge("duration", hist) is None
    assert judge("duration", history(*fast(), success(NOW - H, minutes=5))) is None


def test_past_the_floor_it_fires_and_names_the_floor_as_its_limit() -> None:
    slow = success(NOW - H, minutes=6)
    finding = judge("duration", history(*fast(), slow))
    assert finding is not None
    assert finding.summary == (
        f"{KEY} run {slow.run_id} took 6 min, over its limit of 5 min "
        "(the min_seconds floor; 3x the median of 2 s is below it)"
    )
    assert finding.details["limit_s"] == 300
    assert finding.since == NOW - H - 6 * M + 5 * M


def test_a_fast_job_still_running_waits_for_the_floor() -> None:
    assert judge("duration", history(*fast(), running(NOW - 4 * M))) is None
    assert judge("duration", history(*fast(), running(NOW - 6 * M))) is not None


def test_the_floor_is_a_parameter_and_zero_judges_by_the_ratio_alone() -> None:
    assert kind("duration").parse_params({}).min_seconds == 300  # type: ignore[attr-defined]
    hist = history(*fast(), success(NOW - H, minutes=11 / 60))
    assert judge("duration", hist, min_seconds=0) is not None
    assert judge("duration", history(*fast(), success(NOW - H, minutes=2)), min_seconds=60)


def test_the_floor_does_not_raise_an_explicit_max_minutes() -> None:
    """max_minutes is the operator's own absolute limit: taken as given, floor or not."""
    finding = judge("duration", history(*fast(), success(NOW - H, minutes=3)), max_minutes=2)
    assert finding is not None and finding.details["limit"] == "max_minutes"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"min_seconds": -1}, {"min_seconds": "must be at least 0"}),
        ({"factor": 1}, {"factor": "must be greater than 1"}),
        ({"max_minutes": -5}, {"max_minutes": "must be greater than 0"}),
        ({"window_runs": 0}, {"window_runs": "must be at least 1"}),
        ({"min_history": 0}, {"min_history": "must be at least 1"}),
        ({"timeout": 5}, {"timeout": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("duration", **raw) == expected


def stepped(ended_at: datetime, step_minutes: float, run_minutes: float = 30, **fields: Any) -> Any:
    """A success whose own step (``crawl``) took ``step_minutes`` of a ``run_minutes`` run."""
    started = ended_at - timedelta(minutes=run_minutes)
    step = StepTiming("crawl", started + 2 * M, step_minutes * 60)
    return success(ended_at, minutes=run_minutes, step=step, **fields)


def usual_steps(count: int = 6, step_minutes: float = 4, run_minutes: float = 30) -> list:
    return [stepped(NOW - timedelta(days=d + 1), step_minutes, run_minutes) for d in range(count)]


def test_an_asset_is_judged_by_its_own_step_and_the_summary_names_it() -> None:
    slow = stepped(NOW - H, step_minutes=14)
    finding = judge("duration", history(*usual_steps(), slow), min_seconds=0)
    assert finding is not None
    assert finding.summary == (
        f"{KEY}: step crawl of run {slow.run_id} took 14 min, over its limit of 12 min "
        "(3x the median of 4 min)"
    )
    assert finding.details["step_key"] == "crawl"
    assert finding.details["duration_s"] == 14 * 60
    assert finding.details["run_duration_s"] == 30 * 60
    assert finding.since == NOW - H - 30 * M + 2 * M + 12 * M  # the step's start plus the limit
    json.dumps(finding.details)


def test_a_slow_run_whose_own_step_was_usual_is_no_finding() -> None:
    """Another asset's step made the run take 3 h: this asset's 4 min step is not late."""
    other_slow = stepped(NOW - H, step_minutes=4, run_minutes=180)
    assert judge("duration", history(*usual_steps(), other_slow), min_seconds=0) is None


def test_without_step_timing_the_run_duration_is_judged() -> None:
    """Pushed sources, jobs and runs stored before step timing: the run's duration, as before."""
    slow = success(NOW - H, minutes=40)
    finding = judge("duration", history(*usual_steps(run_minutes=10), slow))
    assert finding is not None and finding.summary.startswith(f"{KEY} run {slow.run_id} took")


def test_too_few_earlier_steps_fall_back_to_the_run_duration() -> None:
    """Step and run durations don't mix: until min_history runs have step timing, the run."""
    old_rows = usual(6, minutes=10)
    slow_step_usual_run = stepped(NOW - H, step_minutes=9, run_minutes=10)
    hist = history(*old_rows, *usual_steps(2, step_minutes=1, run_minutes=10), slow_step_usual_run)
    assert judge("duration", hist, min_seconds=0) is None
    assert judge("duration", hist, min_seconds=0, min_history=2) is not None


def test_the_floor_applies_to_a_step_too() -> None:
    """A step that usually takes 20 s is not too long at 2 min: under the 5 min floor."""
    hist = history(*usual_steps(step_minutes=1 / 3), stepped(NOW - H, step_minutes=2))
    assert judge("duration", hist) is None
    finding = judge("duration", history(*usual_steps(step_minutes=1 / 3), stepped(NOW - H, 6)))
    assert finding is not None and "(the min_seconds floor;" in finding.summary


def test_max_minutes_limits_the_step_when_the_step_is_known() -> None:
    hist = history(stepped(NOW - H, step_minutes=25, run_minutes=90))
    finding = judge("duration", hist, max_minutes=20)
    assert finding is not None and finding.details["step_key"] == "crawl"
    assert judge("duration", history(stepped(NOW - H, 15, run_minutes=90)), max_minutes=20) is None
