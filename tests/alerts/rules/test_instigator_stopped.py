"""instigator_stopped: a schedule or sensor that was running has been switched off."""

from __future__ import annotations

from datetime import timedelta

from alerts.rules.base import StoppedInstigator
from tests.alerts.rules.factories import NOW, deployment, judge_deployment, param_errors

SCHEDULE = StoppedInstigator("daily_crawl_schedule", "schedule", NOW - timedelta(minutes=4))
SENSOR = StoppedInstigator("flaky_source_sensor", "sensor", NOW - timedelta(minutes=2))


def test_nothing_stopped_is_no_finding() -> None:
    assert judge_deployment("instigator_stopped", deployment()) is None


def test_a_stopped_schedule_fires_from_when_it_was_seen_stopped() -> None:
    finding = judge_deployment("instigator_stopped", deployment(stopped_instigators=(SCHEDULE,)))
    assert finding is not None
    assert finding.summary == "prod: schedule daily_crawl_schedule stopped (was running)"
    assert finding.since == SCHEDULE.stopped_at


def test_several_are_one_finding_oldest_first() -> None:
    dep = deployment(stopped_instigators=(SENSOR, SCHEDULE))
    finding = judge_deployment("instigator_stopped", dep)
    assert finding is not None
    assert [i["name"] for i in finding.details["stopped"]] == [SCHEDULE.name, SENSOR.name]


def test_a_glob_narrows_the_instigators() -> None:
    dep = deployment(stopped_instigators=(SENSOR,))
    assert judge_deployment("instigator_stopped", dep, instigator="*_schedule") is None
    assert judge_deployment("instigator_stopped", dep, instigator="flaky_*") is not None


def test_a_disabled_deployment_never_fires() -> None:
    dep = deployment(stopped_instigators=(SCHEDULE,), enabled=False)
    assert judge_deployment("instigator_stopped", dep) is None


def test_unknown_parameters_are_refused() -> None:
    assert param_errors("instigator_stopped", names="x") == {
        "names": "is not a parameter of this rule kind"
    }
