"""Limits that fit the source, through the engine: a rule kind's limit as it opens real alerts
(the kind-level cases are in tests/alerts/rules/)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.choices import AlertState
from alerts.engine import evaluation
from alerts.models import Alert
from tests.alerts import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    """Sources and rules are created at T0, as in test_evaluation.py."""
    with time_machine.travel(T0, tick=True):
        yield


def test_a_fast_job_opens_a_duration_alert_only_past_the_absolute_floor() -> None:
    """The default duration rule on a job that usually takes 2 s: 11 s is no alert, 6 min is."""
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Duration", "duration", [f.channel()], parameters={"factor": 3})
    for day in range(6, 0, -1):
        f.run(elra, T0 - timedelta(days=day), duration_s=2)
    f.run(elra, T0, duration_s=11)
    evaluation.evaluate(T0 + f.minutes(1))
    assert not Alert.objects.exists()
    f.run(elra, T0 + f.minutes(10), duration_s=360)
    evaluation.evaluate(T0 + f.minutes(11))
    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING and "over its limit of 5 min" in alert.summary
