"""run_stuck: Dagster runs queued and never started, or stuck starting or canceling."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.rules.base import OpenRun
from tests.alerts.rules.factories import NOW, deployment, judge_deployment, param_errors


def waiting(minutes: float, status: str = "QUEUED", job: str = "crawl_job", n: int = 1) -> OpenRun:
    return OpenRun(f"{n:08d}-run", job, status, NOW - timedelta(minutes=minutes))


def test_no_open_runs_is_no_finding() -> None:
    assert judge_deployment("run_stuck", deployment()) is None


def test_a_run_queued_past_the_limit_fires() -> None:
    dep = deployment(open_runs=(waiting(20), waiting(3, n=2)))
    finding = judge_deployment("run_stuck", dep, minutes=15)
    assert finding is not None
    assert finding.summary == "prod: run 00000001 (crawl_job) QUEUED for 20 min"
    assert finding.since == NOW - timedelta(minutes=5)
    assert [r["run_id"] for r in finding.details["runs"]] == ["00000001-run"]
    json.dumps(finding.details)


def test_at_exactly_the_limit_it_fires() -> None:
    dep = deployment(open_runs=(waiting(15),))
    assert judge_deployment("run_stuck", dep, minutes=15) is not None


def test_younger_runs_are_no_finding() -> None:
    dep = deployment(open_runs=(waiting(14.9),))
    assert judge_deployment("run_stuck", dep, minutes=15) is None


def test_several_stuck_runs_are_one_finding_dated_by_the_oldest() -> None:
    runs = tuple(waiting(30 + n, job=f"job_{n}", n=n) for n in range(5))
    finding = judge_deployment("run_stuck", deployment(open_runs=runs), minutes=15)
    assert finding is not None
    assert finding.summary == "prod: 5 runs QUEUED, the oldest for 34 min (job_0, job_1, job_2…)"
    assert finding.since == NOW - timedelta(minutes=34 - 15)
    assert len(finding.details["runs"]) == 5


def test_only_the_statuses_asked_for_are_judged() -> None:
    dep = deployment(open_runs=(waiting(60, "STARTING"), waiting(60, "CANCELING", n=2)))
    assert judge_deployment("run_stuck", dep) is None  # QUEUED by default
    finding = judge_deployment("run_stuck", dep, statuses=["STARTING", "CANCELING"], minutes=10)
    assert finding is not None
    assert finding.summary.startswith("prod: 2 runs CANCELING/STARTING, the oldest for 1 h")


def test_not_judged_while_polls_fail_or_disabled() -> None:
    runs = (waiting(60),)
    failing = deployment(open_runs=runs, failing_since=NOW - timedelta(minutes=5))
    assert judge_deployment("run_stuck", failing) is None
    assert judge_deployment("run_stuck", deployment(open_runs=runs, enabled=False)) is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"statuses": []}, "statuses"),
        ({"statuses": ["X"]}, "statuses.0"),
    ],
)
def test_parameters_are_checked(raw: dict, field: str) -> None:
    assert field in param_errors("run_stuck", **raw)
