"""volume_drop: the latest successful value far below its recent (or same-weekday) average."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerts.rules.factories import (
    KEY,
    NOW,
    days_ago,
    failure,
    history,
    judge,
    param_errors,
    success,
    with_metric,
)


def daily(*values: float, metric: str = "count") -> tuple:
    """One success a day with these values, the last one today."""
    return tuple(
        with_metric(days_ago(len(values) - 1 - i), value, metric) for i, value in enumerate(values)
    )


def test_no_history_is_no_finding() -> None:
    assert judge("volume_drop", history()) is None


def test_one_run_has_no_baseline() -> None:
    assert judge("volume_drop", history(*daily(5))) is None


def test_fewer_earlier_runs_than_min_history_is_no_finding() -> None:
    assert judge("volume_drop", history(*daily(1000, 1000, 10))) is None
    assert judge("volume_drop", history(*daily(1000, 1000, 1000, 10))) is not None


def test_with_only_failures_there_is_nothing_to_compare() -> None:
    assert judge("volume_drop", history(*[failure(days_ago(d)) for d in range(5)])) is None


def test_a_drop_fires_with_the_numbers_in_the_summary() -> None:
    runs = daily(*[1208] * 7, 712)
    finding = judge("volume_drop", history(*runs))
    assert finding is not None
    assert finding.summary == f"{KEY} count 712 is 41% below its average of 1,208 over 7 runs"
    assert finding.run_id == runs[-1].run_id and finding.since == runs[-1].ended_at
    assert finding.details["baseline"] == 1208 and finding.details["drop_percent"] == 41.1
    json.dumps(finding.details)


def test_a_small_dip_is_no_finding() -> None:
    assert judge("volume_drop", history(*daily(1000, 1010, 990, 1000, 800))) is None


def test_exactly_at_the_threshold_is_no_finding() -> None:
    assert judge("volume_drop", history(*daily(1000, 1000, 1000, 700))) is None
    assert judge("volume_drop", history(*daily(1000, 1000, 1000, 699))) is not None


def test_the_baseline_is_the_last_window_runs() -> None:
    runs = daily(5000, 5000, 5000, 100, 100, 100, 90)
    assert judge("volume_drop", history(*runs), window_runs=3) is None
    assert judge("volume_drop", history(*runs), window_runs=6) is not None


def test_runs_missing_the_metric_are_skipped() -> None:
    runs = (*daily(1000, 1000, 1000, 500), success(NOW + timedelta(minutes=5)))
    finding = judge("volume_drop", history(*runs))
    assert finding is not None and finding.run_id == runs[3].run_id
    gappy = (*daily(1000, 1000), success(days_ago(0.5)), with_metric(NOW, 500))
    assert judge("volume_drop", history(*gappy)) is None  # two earlier values, not three


def test_failed_runs_values_are_ignored() -> None:
    bad = failure(NOW + timedelta(minutes=5), metrics={"count": 1})
    assert judge("volume_drop", history(*daily(1000, 1000, 1000, 1000), bad)) is None


def test_any_metric_key_can_be_judged() -> None:
    runs = daily(50, 50, 50, 10, metric="dagster/row_count")
    assert judge("volume_drop", history(*runs), metric="dagster/row_count") is not None
    assert judge("volume_drop", history(*runs), metric="count") is None


def test_a_zero_baseline_is_no_drop() -> None:
    assert judge("volume_drop", history(*daily(0, 0, 0, 0))) is None


# Five weeks of daily runs: ~1,000 (±5%) on weekdays, ~600 on Saturdays and Sundays.
MONDAY = datetime(2025, 1, 6, 3, 0, tzinfo=UTC)
NOISE = [1.0, 1.05, 0.96, 1.02, 0.95, 1.04, 0.98, 1.01, 0.97, 1.03]


def weekly_pattern(days: int) -> list:
    runs = []
    for day in range(days):
        at = MONDAY + timedelta(days=day)
        level = 600 if at.weekday() >= 5 else 1000
        runs.append(with_metric(at, round(level * NOISE[day % len(NOISE)])))
    return runs


def test_a_weekend_dip_that_recurs_every_week_is_not_a_drop() -> None:
    runs = weekly_pattern(35)
    # From the third week on, two earlier weekends are known and no day fires.
    for day in range(14, 35):
        hist = history(*runs[: day + 1])
        assert judge("volume_drop", hist, now=runs[day].ended_at) is None, runs[day].ended_at


def test_the_first_weekends_fire_until_two_are_known() -> None:
    runs = weekly_pattern(14)
    saturday = runs[5]
    assert saturday.ended_at is not None and saturday.ended_at.weekday() == 5
    assert judge("volume_drop", history(*runs[:6]), now=saturday.ended_at) is not None
    assert judge("volume_drop", history(*runs[:6]), seasonal=False) is not None


def test_without_seasonal_the_weekend_dip_fires() -> None:
    runs = weekly_pattern(34)  # ends on a Saturday
    assert judge("volume_drop", history(*runs), seasonal=False) is not None


def test_a_real_drop_on_a_tuesday_fires_despite_the_season() -> None:
    runs = weekly_pattern(29)  # day 29 is a Tuesday
    tuesday = with_metric(MONDAY + timedelta(days=29), 600)
    assert tuesday.ended_at is not None and tuesday.ended_at.weekday() == 1
    finding = judge("volume_drop", history(*runs, tuesday))
    assert finding is not None and "count 600 is" in finding.summary


def test_the_same_weekday_baseline_is_named_when_it_is_lower() -> None:
    runs = weekly_pattern(33)  # ends on a Friday; add a Saturday far below even the weekends
    saturday = with_metric(MONDAY + timedelta(days=33), 100)
    finding = judge("volume_drop", history(*runs, saturday))
    assert finding is not None and "below its Saturday average of" in finding.summary


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"percent": 150}, {"percent": "must be at most 100"}),
        ({"percent": -5}, {"percent": "must be greater than 0"}),
        ({"percent": 0}, {"percent": "must be greater than 0"}),
        ({"window_runs": 0}, {"window_runs": "must be at least 1"}),
        ({"min_history": 0}, {"min_history": "must be at least 1"}),
        (
            {"metric": "row count!"},
            {
                "metric": "must be auto or a key like dagster/row_count "
                "(letters, digits, single spaces and _ . : / -)"
            },
        ),
        ({"metric": "x" * 101}, {"metric": "must be at most 100 characters"}),
        ({"threshold": 3}, {"threshold": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("volume_drop", **raw) == expected
