"""consecutive_failures: N final failures in a row, with M successes needed to recover."""

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
    run,
    success,
)

H = timedelta(hours=1)


def sequence(pattern: str) -> tuple:
    """Runs from a pattern read oldest to newest: "SFF" is a success, then two failures."""
    return tuple(
        success(NOW - (len(pattern) - i) * H) if c == "S" else failure(NOW - (len(pattern) - i) * H)
        for i, c in enumerate(pattern)
    )


def test_no_history_is_no_finding() -> None:
    assert judge("consecutive_failures", history()) is None


def test_one_failure_is_not_two() -> None:
    assert judge("consecutive_failures", history(*sequence("SF"))) is None


def test_two_failures_in_a_row_fire_from_the_first_of_them() -> None:
    runs = sequence("SFF")
    finding = judge("consecutive_failures", history(*runs))
    assert finding is not None
    assert finding.summary == f"{KEY} failed 2 runs in a row: HTTP 503"
    assert finding.since == runs[1].ended_at
    assert finding.run_id == runs[2].run_id
    assert finding.details["run_ids"] == [runs[2].run_id, runs[1].run_id]
    json.dumps(finding.details)


def test_with_only_failures_it_counts_them_all() -> None:
    finding = judge("consecutive_failures", history(*sequence("FFFFF")))
    assert finding is not None and finding.details["failures"] == 5


def test_exactly_n_failures_fire_and_one_fewer_does_not() -> None:
    assert judge("consecutive_failures", history(*sequence("SFFF")), failures=3) is not None
    assert judge("consecutive_failures", history(*sequence("SFF")), failures=3) is None


def test_a_success_clears_it_by_default() -> None:
    assert judge("consecutive_failures", history(*sequence("FFFS"))) is None


def test_failures_broken_by_a_success_do_not_add_up() -> None:
    assert judge("consecutive_failures", history(*sequence("FSF"))) is None


def test_with_recover_after_2_one_success_after_failures_keeps_it_firing() -> None:
    finding = judge("consecutive_failures", history(*sequence("FFFS")), recover_after=2)
    assert finding is not None
    assert finding.details["failures"] == 3 and finding.details["successes_since"] == 1
    assert finding.summary == f"{KEY} failed 3 runs in a row, 1 success since (needs 2): HTTP 503"


def test_with_recover_after_2_two_successes_clear_it() -> None:
    assert judge("consecutive_failures", history(*sequence("FFFSS")), recover_after=2) is None


def test_runs_without_a_verdict_are_passed_over() -> None:
    runs = (
        failure(NOW - 5 * H),
        run(NOW - 4 * H, status="CANCELED"),
        run(NOW - 3 * H, status="FAILURE", outcome="skipped"),
        failure(NOW - 2 * H, will_retry=True),
        failure(NOW - H),
    )
    finding = judge("consecutive_failures", history(*runs))
    assert finding is not None and finding.details["run_ids"] == [runs[4].run_id, runs[0].run_id]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"failures": 0}, {"failures": "must be at least 1"}),
        ({"recover_after": -1}, {"recover_after": "must be at least 1"}),
        ({"streak": 3}, {"streak": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("consecutive_failures", **raw) == expected
