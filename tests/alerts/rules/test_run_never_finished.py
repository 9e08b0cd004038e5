"""run_never_finished: a run that started long ago and never ended."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.rules.base import kind
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


def test_no_history_is_no_finding() -> None:
    assert judge("run_never_finished", history()) is None


def test_a_pushed_run_that_never_reported_an_end_fires() -> None:
    stuck = running(NOW - 7 * H, run_id="push-2025-01-15")
    finding = judge("run_never_finished", history(success(NOW - 30 * H), stuck, kind="pushed"))
    assert finding is not None
    assert finding.summary == (
        f"{KEY} run push-2025-01-15 (STARTED) started 7 h ago and has not finished (limit 6 h)"
    )
    assert finding.run_id == "push-2025-01-15"
    assert finding.since == NOW - H
    json.dumps(finding.details)
    assert kind("run_never_finished").time_based


def test_a_run_within_the_limit_is_no_finding() -> None:
    assert judge("run_never_finished", history(running(NOW - 5 * H))) is None


def test_exactly_the_limit_is_no_finding() -> None:
    assert judge("run_never_finished", history(running(NOW - 6 * H))) is None


def test_finished_runs_are_never_stuck() -> None:
    runs = (success(NOW - 10 * H), failure(NOW - 20 * H), run(NOW - 30 * H, status="CANCELED"))
    assert judge("run_never_finished", history(*runs)) is None


def test_a_queued_run_that_never_started_is_not_this_rules_business() -> None:
    queued = running(NOW - 10 * H, status="QUEUED")
    queued = type(queued)(**{**queued.__dict__, "started_at": None})
    assert judge("run_never_finished", history(queued)) is None


def test_the_oldest_stuck_run_is_named_and_all_are_listed() -> None:
    older, newer = running(NOW - 30 * H, status="STARTING"), running(NOW - 8 * H)
    finding = judge("run_never_finished", history(older, newer))
    assert finding is not None and finding.run_id == older.run_id
    assert "(STARTING) started 1 d 6 h ago" in finding.summary
    assert len(finding.details["stuck_runs"]) == 2


def test_max_hours_can_be_lowered() -> None:
    assert judge("run_never_finished", history(running(NOW - 2 * H)), max_hours=1.5) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"max_hours": 0}, {"max_hours": "must be greater than 0"}),
        ({"max_hours": -1}, {"max_hours": "must be greater than 0"}),
        ({"hours": 3}, {"hours": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("run_never_finished", **raw) == expected
