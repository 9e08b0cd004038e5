"""volume_bounds: the latest successful value outside fixed bounds."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.alerts.rules.factories import (
    KEY,
    NOW,
    failure,
    history,
    judge,
    param_errors,
    success,
    with_metric,
)

H = timedelta(hours=1)


def test_no_history_is_no_finding() -> None:
    assert judge("volume_bounds", history(), min=100) is None


def test_a_value_below_the_minimum_fires() -> None:
    latest = with_metric(NOW - H, 12)
    finding = judge("volume_bounds", history(latest), min=100, max=5000)
    assert finding is not None
    assert finding.summary == f"{KEY} count 12 is below the minimum of 100"
    assert finding.run_id == latest.run_id and finding.since == latest.ended_at
    json.dumps(finding.details)


def test_a_value_above_the_maximum_fires() -> None:
    finding = judge("volume_bounds", history(with_metric(NOW - H, 12_000)), max=5000)
    assert finding is not None
    assert finding.summary == f"{KEY} count 12,000 is above the maximum of 5,000"


def test_a_value_inside_is_no_finding() -> None:
    assert judge("volume_bounds", history(with_metric(NOW - H, 500)), min=100, max=5000) is None


def test_the_bounds_themselves_are_inside() -> None:
    assert judge("volume_bounds", history(with_metric(NOW - H, 100)), min=100, max=5000) is None
    assert judge("volume_bounds", history(with_metric(NOW - H, 5000)), min=100, max=5000) is None


def test_only_the_latest_success_counts() -> None:
    hist = history(with_metric(NOW - 2 * H, 12), with_metric(NOW - H, 500))
    assert judge("volume_bounds", hist, min=100) is None


def test_with_only_failures_there_is_nothing_to_judge() -> None:
    hist = history(failure(NOW - H, metrics={"count": 1}), failure(NOW - 2 * H))
    assert judge("volume_bounds", hist, min=100) is None


def test_runs_missing_the_metric_are_skipped() -> None:
    hist = history(with_metric(NOW - 2 * H, 12), success(NOW - H))
    finding = judge("volume_bounds", hist, min=100)
    assert finding is not None and finding.details["value"] == 12


def test_a_different_metric_can_be_bounded() -> None:
    hist = history(with_metric(NOW - H, 0.4, "null_ratio"))
    assert judge("volume_bounds", hist, metric="null_ratio", max=0.1) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, {"parameters": "give min, max or both"}),
        ({"metric": "count"}, {"parameters": "give min, max or both"}),
        ({"min": 10, "max": 5}, {"parameters": "min must not exceed max"}),
        (
            {"metric": "count?", "min": 1},
            {
                "metric": "must be auto or a key like dagster/row_count "
                "(letters, digits, single spaces and _ . : / -)"
            },
        ),
        (
            {"min": "lots"},
            {"min": "Input should be a valid number, unable to parse string as a number"},
        ),
        ({"min": 1, "minimum": 1}, {"minimum": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("volume_bounds", **raw) == expected
