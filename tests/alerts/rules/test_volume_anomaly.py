"""volume_anomaly: the latest successful value far outside the spread of recent ones."""

from __future__ import annotations

import json
from datetime import timedelta

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

# Ten days of values around 1,000 with a standard deviation of about 30.
STEADY = [1000, 1030, 970, 1040, 960, 1000, 1020, 980, 1010, 990]


def daily(*values: float) -> tuple:
    """One success a day with these values, the last one today."""
    return tuple(with_metric(days_ago(len(values) - 1 - i), v) for i, v in enumerate(values))


def test_no_history_is_no_finding() -> None:
    assert judge("volume_anomaly", history()) is None


def test_one_run_is_no_finding() -> None:
    assert judge("volume_anomaly", history(*daily(1000))) is None


def test_too_few_samples_is_no_finding() -> None:
    assert judge("volume_anomaly", history(*daily(*STEADY[:6], 5000))) is None
    assert judge("volume_anomaly", history(*daily(*STEADY[:7], 5000))) is not None


def test_with_only_failures_there_is_nothing_to_compare() -> None:
    assert judge("volume_anomaly", history(*[failure(days_ago(d)) for d in range(10)])) is None


def test_a_spike_fires_above() -> None:
    runs = daily(*STEADY, 1400)
    finding = judge("volume_anomaly", history(*runs))
    assert finding is not None
    assert finding.summary.startswith(f"{KEY} count 1,400 is ")
    assert "standard deviations above its mean of 1,000 (10 runs in 14 days)" in finding.summary
    assert finding.run_id == runs[-1].run_id
    json.dumps(finding.details)


def test_a_collapse_fires_below() -> None:
    finding = judge("volume_anomaly", history(*daily(*STEADY, 600)))
    assert finding is not None and "below its mean" in finding.summary


def test_a_value_within_the_spread_is_no_finding() -> None:
    assert judge("volume_anomaly", history(*daily(*STEADY, 1060))) is None


def test_a_near_constant_series_does_not_fire_on_noise() -> None:
    flat = [1000] * 10
    assert judge("volume_anomaly", history(*daily(*flat, 1003))) is None
    assert judge("volume_anomaly", history(*daily(*flat, 1100))) is not None


def test_exactly_z_is_no_finding() -> None:
    # The spread of a flat series is floored at 1% of the mean: 10, so 1,030 is z = 3.
    flat = [1000] * 10
    assert judge("volume_anomaly", history(*daily(*flat, 1030))) is None
    assert judge("volume_anomaly", history(*daily(*flat, 1031))) is not None


def test_only_runs_within_window_days_count() -> None:
    old = [with_metric(days_ago(20 + d), 1000) for d in range(10)]
    recent = [with_metric(days_ago(d), 1000) for d in (1, 2, 3)]
    hist = history(*old, *recent, with_metric(NOW, 5000))
    assert judge("volume_anomaly", hist) is None
    assert judge("volume_anomaly", hist, window_days=40) is not None


def test_per_weekday_compares_only_the_same_weekday() -> None:
    # Wednesdays (today's weekday) are always 3,000; other days 1,000.
    runs = [
        with_metric(days_ago(d), 3000 if days_ago(d).weekday() == 2 else 1000) for d in range(1, 60)
    ]
    today = with_metric(NOW, 3000)
    # Against all days a Wednesday stands out (a 1-in-7 value is about 2.4 deviations off).
    assert judge("volume_anomaly", history(*runs, today), window_days=60, z=2) is not None
    finding = judge(
        "volume_anomaly", history(*runs, today), window_days=60, per_weekday=True, min_samples=3
    )
    assert finding is None
    drop = with_metric(NOW, 1000)
    finding = judge(
        "volume_anomaly", history(*runs, drop), window_days=60, per_weekday=True, min_samples=3
    )
    assert finding is not None and "8 Wednesday runs in 60 days" in finding.summary


def test_runs_missing_the_metric_are_skipped() -> None:
    runs = (*daily(*STEADY, 1400), success(NOW + timedelta(minutes=5)))
    finding = judge("volume_anomaly", history(*runs))
    assert finding is not None and finding.run_id == runs[-2].run_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"z": -1}, {"z": "must be greater than 0"}),
        ({"window_days": 0}, {"window_days": "must be greater than 0"}),
        ({"min_samples": 1}, {"min_samples": "must be at least 2"}),
        (
            {"metric": "a b!"},
            {
                "metric": "must be auto or a key like dagster/row_count "
                "(letters, digits, single spaces and _ . : / -)"
            },
        ),
        ({"sigma": 3}, {"sigma": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("volume_anomaly", **raw) == expected
