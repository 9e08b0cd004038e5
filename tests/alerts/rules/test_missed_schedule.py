"""missed_schedule: the latest run a running schedule expected did not start in time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.rules.base import RunSample, kind
from tests.alerts.rules.factories import (
    KEY,
    NOW,
    failure,
    history,
    judge,
    param_errors,
    run,
    schedule,
)

DAILY = (schedule("0 2 * * *"),)
TODAY_0200 = datetime(2025, 1, 15, 2, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def started(at: datetime) -> RunSample:
    return run(at + 20 * M, started_at=at)


def test_a_source_without_schedules_expects_nothing() -> None:
    assert judge("missed_schedule", history()) is None


def test_a_paused_schedule_expects_nothing() -> None:
    assert judge("missed_schedule", history(schedules=(schedule(running=False),))) is None


def test_a_run_that_started_on_time_is_no_finding() -> None:
    hist = history(started(TODAY_0200 + M), schedules=DAILY)
    assert judge("missed_schedule", hist) is None


def test_a_run_that_did_not_start_fires_from_the_end_of_the_grace() -> None:
    hist = history(started(TODAY_0200 - timedelta(days=1)), schedules=DAILY)
    finding = judge("missed_schedule", hist)
    assert finding is not None
    assert finding.summary == (
        f"{KEY}: expected run at 2025-01-15 02:00 UTC (cron 0 2 * * *) did not start within 30 min"
    )
    assert finding.since == TODAY_0200 + 30 * M
    assert finding.details["expected_at"] == "2025-01-15T02:00:00+00:00"
    json.dumps(finding.details)
    assert kind("missed_schedule").time_based


def test_with_no_runs_at_all_it_fires() -> None:
    assert judge("missed_schedule", history(schedules=DAILY)) is not None


def test_a_run_that_started_and_failed_still_started() -> None:
    hist = history(failure(TODAY_0200 + 5 * M, minutes=3), schedules=DAILY)
    assert judge("missed_schedule", hist) is None


def test_before_the_grace_ends_it_judges_the_previous_expected_run() -> None:
    hist = history(started(TODAY_0200 - timedelta(days=1)), schedules=DAILY)
    assert judge("missed_schedule", hist, now=TODAY_0200 + 29 * M) is None


def test_exactly_at_the_end_of_the_grace_the_run_is_due() -> None:
    hist = history(started(TODAY_0200 - timedelta(days=1)), schedules=DAILY)
    assert judge("missed_schedule", hist, now=TODAY_0200 + 30 * M) is not None


@pytest.mark.parametrize(
    ("start", "answered"),
    [(-5 * M, True), (-6 * M, False), (30 * M, True), (31 * M, True)],
)
def test_a_run_from_five_minutes_early_on_answers_the_tick(
    start: timedelta, answered: bool
) -> None:
    hist = history(started(TODAY_0200 + start), schedules=DAILY)
    finding = judge("missed_schedule", hist, now=TODAY_0200 + timedelta(hours=2))
    assert (finding is None) == answered


def test_a_late_run_clears_the_miss_when_it_starts() -> None:
    """The miss is reported at the end of the grace; a run starting later still answers it."""
    before = history(started(TODAY_0200 - timedelta(days=1)), schedules=DAILY)
    assert judge("missed_schedule", before, now=TODAY_0200 + 45 * M) is not None
    late = history(started(TODAY_0200 + 50 * M), schedules=DAILY)
    assert judge("missed_schedule", late, now=TODAY_0200 + 51 * M) is None


def test_expected_runs_before_the_source_was_first_seen_do_not_count() -> None:
    hist = history(schedules=DAILY, first_seen_at=TODAY_0200 + M)
    assert judge("missed_schedule", hist) is None


def test_it_clears_once_a_later_expected_run_started() -> None:
    hist = history(started(TODAY_0200), schedules=DAILY)  # yesterday's run is missing
    assert judge("missed_schedule", hist) is None


def test_the_cron_is_read_in_the_schedules_timezone() -> None:
    berlin = (schedule("0 2 * * *", timezone="Europe/Berlin"),)  # 01:00 UTC in January
    assert judge("missed_schedule", history(started(TODAY_0200 - 58 * M), schedules=berlin)) is None
    yesterday = history(started(TODAY_0200 - timedelta(days=1)), schedules=berlin)
    finding = judge("missed_schedule", yesterday)
    assert finding is not None
    assert "expected run at 2025-01-15 02:00 Europe/Berlin" in finding.summary
    assert finding.since == TODAY_0200 - 30 * M


def test_summer_time_moves_the_expected_run_in_utc() -> None:
    berlin = (schedule("0 2 * * *", timezone="Europe/Berlin"),)  # 00:00 UTC in July
    midnight = datetime(2025, 7, 15, 0, 0, tzinfo=UTC)
    hist = history(
        started(midnight + 2 * M), schedules=berlin, first_seen_at=midnight.replace(month=1)
    )
    assert judge("missed_schedule", hist, now=midnight + 10 * timedelta(hours=1)) is None


def test_an_empty_timezone_means_utc() -> None:
    hist = history(started(TODAY_0200), schedules=(schedule(timezone=""),))
    assert judge("missed_schedule", hist) is None


def test_dagster_shorthands_are_understood() -> None:
    finding = judge("missed_schedule", history(schedules=(schedule("@daily"),)))
    assert finding is not None and "expected run at 2025-01-15 00:00 UTC" in finding.summary


def test_an_unknown_timezone_falls_back_to_utc_and_says_so() -> None:
    finding = judge("missed_schedule", history(schedules=(schedule(timezone="Mars/Base"),)))
    assert finding is not None and "02:00 UTC" in finding.summary


def test_a_cron_it_cannot_read_expects_nothing() -> None:
    assert judge("missed_schedule", history(schedules=(schedule("every day"),))) is None


def test_the_latest_expected_time_across_schedules_is_judged() -> None:
    both = (schedule("0 2 * * *"), schedule("0 9 * * *"))
    hist = history(started(TODAY_0200), schedules=both)
    finding = judge("missed_schedule", hist)
    assert finding is not None and "09:00" in finding.summary


def test_an_hourly_schedule_judges_the_last_hour_that_is_due() -> None:
    hourly = (schedule("0 * * * *"),)
    eleven = NOW - timedelta(hours=1)
    hist = history(started(eleven), schedules=hourly)
    assert judge("missed_schedule", hist, now=NOW + 10 * M) is None
    assert judge("missed_schedule", hist, now=NOW + 30 * M) is not None


MONDAY_0900 = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("cron", "tick", "previous", "grace"),
    [
        ("*/2 * * * *", NOW, NOW - 2 * M, 1 * M),  # half of 2 min
        ("*/10 * * * *", NOW, NOW - 10 * M, 5 * M),
        ("0 * * * *", NOW, NOW - 60 * M, 30 * M),
        ("0 */2 * * *", NOW, NOW - 120 * M, 30 * M),  # half would be 1 h: capped
        ("0 2 * * *", TODAY_0200, TODAY_0200 - timedelta(days=1), 30 * M),
        ("0 9 * * 1-5", MONDAY_0900, MONDAY_0900 - timedelta(days=3), 30 * M),
    ],
)
def test_the_grace_is_half_the_schedules_period_capped_at_grace_minutes(
    cron: str, tick: datetime, previous: datetime, grace: timedelta
) -> None:
    hist = history(started(previous), schedules=(schedule(cron),))
    assert judge("missed_schedule", hist, now=tick + grace - S) is None
    finding = judge("missed_schedule", hist, now=tick + grace)
    assert finding is not None and finding.since == tick + grace
    minutes = grace / M
    assert finding.summary.endswith(f"did not start within {minutes:g} min")
    assert finding.details["grace_minutes"] == minutes


def test_a_two_minute_schedule_is_missed_after_one_minute_not_thirty_six() -> None:
    every_two = (schedule("*/2 * * * *"),)
    hist = history(started(NOW - 4 * M), schedules=every_two)  # 11:58 did not start
    finding = judge("missed_schedule", hist, now=NOW - M)
    assert finding is not None and finding.since == NOW - M
    assert "expected run at 2025-01-15 11:58 UTC" in finding.summary


def test_an_every_minute_schedule_still_gets_the_one_minute_floor() -> None:
    hist = history(started(NOW - M), schedules=(schedule("* * * * *"),))
    assert judge("missed_schedule", hist, now=NOW + 59 * S) is None
    assert judge("missed_schedule", hist, now=NOW + M) is not None


def test_a_smaller_grace_minutes_caps_the_grace_below_half_the_period() -> None:
    hourly = (schedule("0 * * * *"),)
    hist = history(started(NOW - 60 * M), schedules=hourly)
    finding = judge("missed_schedule", hist, now=NOW + 10 * M, grace_minutes=10)
    assert finding is not None and finding.since == NOW + 10 * M
    assert judge("missed_schedule", hist, now=NOW + 9 * M, grace_minutes=10) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"grace_minutes": 0}, {"grace_minutes": "must be greater than 0"}),
        ({"grace_minutes": -10}, {"grace_minutes": "must be greater than 0"}),
        ({"cron": "* * * * *"}, {"cron": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("missed_schedule", **raw) == expected
