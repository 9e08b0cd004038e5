"""The poll keeps every schedule's and sensor's status (ticked or not) and when one that was
running was switched off; a hostile status is a failed poll, never a crash."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import polling
from monitoring.models import Deployment, Instigator
from tests.fixtures.http import HttpResponder
from tests.monitoring.test_polling import HIGH_WATER_MARK, deployment, poll_answer

__all__ = ["deployment"]  # the fixture, shared with test_polling
pytestmark = pytest.mark.django_db


def ticks_answer(schedule_status: object, sensor_status: object = "RUNNING") -> str:
    """No ticks at all: switching a schedule off leaves none to carry the news."""
    state = {"latest": [], "failures": []}
    return json.dumps(
        {
            "data": {
                "schedulesOrError": {
                    "__typename": "Schedules",
                    "results": [
                        {"name": "daily", "scheduleState": {**state, "status": schedule_status}}
                    ],
                },
                "sensorsOrError": {
                    "__typename": "Sensors",
                    "results": [
                        {"name": "watcher", "sensorState": {**state, "status": sensor_status}}
                    ],
                },
            }
        }
    )


def instigator(deployment: Deployment, kind: str, name: str, status: str) -> Instigator:
    return Instigator.objects.create(
        deployment=deployment,
        kind=kind,
        name=name,
        code_location="confradar",
        repository="__repository__",
        status=status,
    )


def poll_ticks(http_responder: HttpResponder, deployment: Deployment, answer: str) -> bool:
    deployment.ticks_polled_at = None
    deployment.ticks_high_water_mark = HIGH_WATER_MARK
    deployment.save()
    http_responder.respond(200, poll_answer([]))
    http_responder.respond(200, answer)
    return polling.poll_deployment(deployment, timezone.now())


def test_a_schedule_switched_off_is_remembered_with_when(
    http_responder: HttpResponder, deployment: Deployment
) -> None:
    schedule = instigator(deployment, "schedule", "daily", "RUNNING")
    assert poll_ticks(http_responder, deployment, ticks_answer("STOPPED"))
    schedule.refresh_from_db()
    assert schedule.status == "STOPPED"
    assert schedule.stopped_at is not None
    assert timezone.now() - schedule.stopped_at < timedelta(minutes=1)
    assert poll_ticks(http_responder, deployment, ticks_answer("RUNNING"))
    schedule.refresh_from_db()
    assert (schedule.status, schedule.stopped_at) == ("RUNNING", None)


def test_one_never_seen_running_is_not_switched_off(
    http_responder: HttpResponder, deployment: Deployment
) -> None:
    schedule = instigator(deployment, "schedule", "daily", "STOPPED")
    sensor = instigator(deployment, "sensor", "watcher", "")
    assert poll_ticks(http_responder, deployment, ticks_answer("STOPPED", "STOPPED"))
    ticks_requests = [r for r in http_responder.requests if b"query Ticks" in r.body]
    assert len(ticks_requests) == 1  # one per code location, not one per instigator
    schedule.refresh_from_db()
    sensor.refresh_from_db()
    assert schedule.stopped_at is None and sensor.stopped_at is None
    assert sensor.status == "STOPPED"


@pytest.mark.parametrize("hostile", [7, "X" * 500, {"status": "RUNNING"}])
def test_a_hostile_status_is_a_failed_poll(
    http_responder: HttpResponder, deployment: Deployment, hostile: object
) -> None:
    schedule = instigator(deployment, "schedule", "daily", "RUNNING")
    assert poll_ticks(http_responder, deployment, ticks_answer(hostile)) is False
    deployment.refresh_from_db()
    assert deployment.consecutive_failures == 1 and "status" in deployment.last_error
    schedule.refresh_from_db()
    assert (schedule.status, schedule.stopped_at) == ("RUNNING", None)
