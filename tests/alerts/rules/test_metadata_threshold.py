"""metadata_threshold: a metadata value of the latest success compared with a threshold."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

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
DUPLICATES: dict[str, Any] = {"metric": "duplicates", "value": 0}


def test_no_history_is_no_finding() -> None:
    assert judge("metadata_threshold", history(), **DUPLICATES) is None


def test_the_default_duplicates_rule_fires_on_one_run() -> None:
    latest = with_metric(NOW - H, 12, "duplicates")
    finding = judge("metadata_threshold", history(latest), **DUPLICATES)
    assert finding is not None
    assert finding.summary == f"{KEY} duplicates 12 > 0"
    assert finding.run_id == latest.run_id and finding.since == latest.ended_at
    assert finding.details["threshold"] == 0
    json.dumps(finding.details)


def test_exactly_the_threshold_does_not_pass_a_strict_comparison() -> None:
    assert (
        judge("metadata_threshold", history(with_metric(NOW - H, 0, "duplicates")), **DUPLICATES)
        is None
    )


@pytest.mark.parametrize(
    ("op", "value", "fires"),
    [
        (">", 5, False),
        (">=", 5, True),
        ("<", 5, False),
        ("<=", 5, True),
        ("==", 5, True),
        ("!=", 5, False),
        ("!=", 4, True),
        ("<", 6, True),
    ],
)
def test_every_operator(op: str, value: float, fires: bool) -> None:
    hist = history(with_metric(NOW - H, 5, "score"))
    finding = judge("metadata_threshold", hist, metric="score", op=op, value=value)
    assert (finding is not None) is fires


def test_a_missing_metric_is_no_finding() -> None:
    assert judge("metadata_threshold", history(success(NOW - H)), **DUPLICATES) is None


def test_runs_missing_the_metric_are_skipped() -> None:
    hist = history(with_metric(NOW - 2 * H, 3, "duplicates"), success(NOW - H))
    finding = judge("metadata_threshold", hist, **DUPLICATES)
    assert finding is not None and finding.details["value"] == 3


def test_failed_runs_are_not_judged() -> None:
    hist = history(with_metric(NOW - 2 * H, 0, "duplicates"))
    hist_failed = history(*hist.runs, failure(NOW - H, metrics={"duplicates": 9}))
    assert judge("metadata_threshold", hist_failed, **DUPLICATES) is None
    assert judge("metadata_threshold", history(failure(NOW - H)), **DUPLICATES) is None


def test_namespaced_keys_are_accepted() -> None:
    hist = history(with_metric(NOW - H, 2, "dagster/duplicates"))
    assert judge("metadata_threshold", hist, metric="dagster/duplicates", value=0) is not None


def test_keys_with_spaces_are_accepted() -> None:
    hist = history(with_metric(NOW - H, 2, "Number of duplicates"))
    assert judge("metadata_threshold", hist, metric="Number of duplicates", value=0) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, {"metric": "is required", "value": "is required"}),
        (
            {"metric": "dup licates!", "value": 0},
            {
                "metric": "must look like count or dagster/duplicates "
                "(letters, digits, single spaces and _ . : / -)"
            },
        ),
        (
            {"metric": "", "value": 0},
            {
                "metric": "must look like count or dagster/duplicates "
                "(letters, digits, single spaces and _ . : / -)"
            },
        ),
        (
            {"metric": "d", "value": 0, "op": "=>"},
            {"op": "Input should be '>', '>=', '<', '<=', '==' or '!='"},
        ),
        (
            {"metric": "d", "value": "none"},
            {"value": "Input should be a valid number, unable to parse string as a number"},
        ),
        (
            {"metric": "d", "value": 0, "limit": 1},
            {"limit": "is not a parameter of this rule kind"},
        ),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("metadata_threshold", **raw) == expected
