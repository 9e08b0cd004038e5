"""tick_failed: schedules or sensors whose latest tick failed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.alerts.rules.factories import NOW, deployment, judge_deployment, param_errors, tick

M = timedelta(minutes=1)


def test_no_ticks_is_no_finding() -> None:
    assert judge_deployment("tick_failed", deployment()) is None


def test_a_failed_sensor_tick_fires_with_its_error() -> None:
    failed = tick("new_files_sensor", NOW - 2 * M, error="ConnectionError: s3\nTraceback ...")
    dep = deployment(
        instigator_last_status={"new_files_sensor": "FAILURE", "daily": "SUCCESS"},
        failed_ticks=(failed,),
    )
    finding = judge_deployment("tick_failed", dep)
    assert finding is not None
    assert finding.summary == "prod: sensor new_files_sensor tick failed: ConnectionError: s3"
    assert finding.since == NOW - 2 * M
    assert finding.details["instigators"] == ["new_files_sensor"]
    json.dumps(finding.details)


def test_it_clears_when_the_latest_tick_is_no_longer_a_failure() -> None:
    dep = deployment(
        instigator_last_status={"new_files_sensor": "SKIPPED"},
        failed_ticks=(tick("new_files_sensor", NOW - 20 * M, error="boom"),),
    )
    assert judge_deployment("tick_failed", dep) is None


def test_several_failing_instigators_are_named_with_the_newest_error() -> None:
    ticks = (
        tick("daily", NOW - M, error="newest", of="schedule"),
        tick("new_files_sensor", NOW - 5 * M, error="older"),
        tick("daily", NOW - 60 * M, error="oldest", of="schedule"),
    )
    dep = deployment(
        instigator_last_status={"daily": "FAILURE", "new_files_sensor": "FAILURE"},
        failed_ticks=ticks,
    )
    finding = judge_deployment("tick_failed", dep)
    assert finding is not None
    assert finding.summary == (
        "prod: 2 schedules/sensors failing (daily, new_files_sensor); newest error (daily): newest"
    )
    assert finding.since == NOW - M


def test_instigator_selects_by_glob() -> None:
    dep = deployment(
        instigator_last_status={"daily": "FAILURE"},
        failed_ticks=(tick("daily", NOW - M, error="x", of="schedule"),),
    )
    assert judge_deployment("tick_failed", dep, instigator="*_sensor") is None
    assert judge_deployment("tick_failed", dep, instigator="dai*") is not None


def test_a_failure_without_a_tick_sample_is_dated_now() -> None:
    dep = deployment(instigator_last_status={"daily": "FAILURE"})
    finding = judge_deployment("tick_failed", dep)
    assert finding is not None and finding.since == NOW
    assert finding.summary == "prod: daily tick failed"


def test_a_disabled_deployment_never_fires() -> None:
    dep = deployment(enabled=False, instigator_last_status={"daily": "FAILURE"})
    assert judge_deployment("tick_failed", dep) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [({"schedule": "daily"}, {"schedule": "is not a parameter of this rule kind"})],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("tick_failed", **raw) == expected
