"""deployment_unhealthy: a code location failed to load or a required daemon is down."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerts.rules.factories import NOW, deployment, judge_deployment, param_errors

DOWN = {"required": True, "healthy": False, "last_heartbeat": 1736899200.0, "error": None}
UP = {"required": True, "healthy": True, "last_heartbeat": 1736942400.0, "error": None}


def test_a_healthy_deployment_is_no_finding() -> None:
    assert judge_deployment("deployment_unhealthy", deployment()) is None


def test_a_code_location_that_failed_to_load_fires() -> None:
    dep = deployment(
        code_location_errors={"confradar": "DagsterImportError: no module scrapy\n..."}
    )
    finding = judge_deployment("deployment_unhealthy", dep)
    assert finding is not None
    assert finding.summary == (
        "prod unhealthy: code location confradar failed to load "
        "(DagsterImportError: no module scrapy)"
    )
    assert finding.since == NOW
    json.dumps(finding.details)


def test_a_required_daemon_down_fires() -> None:
    dep = deployment(daemon_health={"SCHEDULER": DOWN, "SENSOR": DOWN, "BACKFILL": UP})
    finding = judge_deployment("deployment_unhealthy", dep)
    assert finding is not None
    assert finding.summary == "prod unhealthy: daemons SCHEDULER, SENSOR unhealthy"
    assert set(finding.details["unhealthy_daemons"]) == {"SCHEDULER", "SENSOR"}
    # Dated from the last heartbeat, so the rule's pending period can elapse.
    assert finding.since == datetime(2025, 1, 15, 0, 0, tzinfo=UTC)


def test_a_daemon_without_a_heartbeat_is_dated_now() -> None:
    dep = deployment(daemon_health={"SENSOR": {**DOWN, "last_heartbeat": None}})
    finding = judge_deployment("deployment_unhealthy", dep)
    assert finding is not None and finding.since == NOW


def test_an_optional_daemon_down_is_no_finding() -> None:
    dep = deployment(daemon_health={"QUEUED_RUN_COORDINATOR": {**DOWN, "required": False}})
    assert judge_deployment("deployment_unhealthy", dep) is None


def test_both_problems_are_in_one_line() -> None:
    dep = deployment(daemon_health={"SENSOR": DOWN}, code_location_errors={"etl": "boom"})
    finding = judge_deployment("deployment_unhealthy", dep)
    assert finding is not None
    assert finding.summary == (
        "prod unhealthy: code location etl failed to load (boom); daemon SENSOR unhealthy"
    )


def test_each_part_can_be_switched_off() -> None:
    daemons = deployment(daemon_health={"SENSOR": DOWN})
    locations = deployment(code_location_errors={"etl": "boom"})
    assert judge_deployment("deployment_unhealthy", daemons, daemons=False) is None
    assert judge_deployment("deployment_unhealthy", locations, code_locations=False) is None
    assert judge_deployment("deployment_unhealthy", locations, daemons=False) is not None


def test_a_disabled_deployment_never_fires() -> None:
    dep = deployment(enabled=False, code_location_errors={"etl": "boom"})
    assert judge_deployment("deployment_unhealthy", dep) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"daemons": "maybe"},
            {"daemons": "Input should be a valid boolean"},
        ),
        ({"locations": False}, {"locations": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("deployment_unhealthy", **raw) == expected


# --- heartbeats: judged by confops, not by Dagster's 30-minute "healthy" flag


def beat(minutes_before_poll: float, **fields: object) -> dict:
    at = (NOW - timedelta(minutes=1) - timedelta(minutes=minutes_before_poll)).timestamp()
    return {"required": True, "healthy": True, "last_heartbeat": at, "error": None, **fields}


def test_a_scheduler_silent_for_three_minutes_is_down_though_dagster_calls_it_healthy() -> None:
    dep = deployment(daemon_health={"SCHEDULER": beat(3), "SENSOR": beat(0.5)})
    finding = judge_deployment("deployment_unhealthy", dep)
    assert finding is not None
    assert finding.summary == "prod unhealthy: daemon SCHEDULER unhealthy"
    # Dated from its last heartbeat.
    assert finding.since == NOW - timedelta(minutes=4)


def test_a_heartbeat_younger_than_the_limit_is_no_finding() -> None:
    dep = deployment(daemon_health={"SCHEDULER": beat(2.9), "BACKFILL": beat(0)})
    assert judge_deployment("deployment_unhealthy", dep) is None


@pytest.mark.parametrize("daemon", ["SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "BACKFILL"])
def test_each_control_plane_daemon_is_judged_by_its_heartbeat(daemon: str) -> None:
    finding = judge_deployment("deployment_unhealthy", deployment(daemon_health={daemon: beat(8)}))
    assert finding is not None and daemon in finding.details["unhealthy_daemons"]


def test_a_daemon_the_instance_does_not_run_is_not_judged() -> None:
    # The run queue daemon is not required when the instance does not queue runs.
    dep = deployment(daemon_health={"QUEUED_RUN_COORDINATOR": beat(60, required=False)})
    assert judge_deployment("deployment_unhealthy", dep) is None


def test_other_daemons_are_left_to_dagsters_flag() -> None:
    dep = deployment(daemon_health={"ASSET": beat(10), "FRESHNESS_DAEMON": beat(10)})
    assert judge_deployment("deployment_unhealthy", dep) is None


def test_the_heartbeat_limit_is_a_parameter() -> None:
    dep = deployment(daemon_health={"SENSOR": beat(8)})
    assert judge_deployment("deployment_unhealthy", dep, heartbeat_minutes=10) is None
    assert judge_deployment("deployment_unhealthy", dep, heartbeat_minutes=5) is not None
    assert judge_deployment("deployment_unhealthy", dep, heartbeat_daemons=["SCHEDULER"]) is None


def test_an_old_snapshot_from_failing_polls_says_nothing_about_heartbeats() -> None:
    dep = deployment(daemon_health={"SENSOR": beat(30)}, failing_since=NOW - timedelta(minutes=5))
    assert judge_deployment("deployment_unhealthy", dep) is None


def test_the_heartbeat_is_judged_at_the_poll_not_at_now() -> None:
    # Nothing changed since the last poll: time passing alone does not make it silent.
    dep = deployment(daemon_health={"SENSOR": beat(1)})
    assert judge_deployment("deployment_unhealthy", dep, now=NOW + timedelta(hours=1)) is None


def test_the_heartbeat_limit_must_be_positive() -> None:
    assert param_errors("deployment_unhealthy", heartbeat_minutes=0) == {
        "heartbeat_minutes": "must be greater than 0"
    }
