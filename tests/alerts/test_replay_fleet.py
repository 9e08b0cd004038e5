"""The replay's focused clock (the default: the engine judges only touched, due and alerting
sources) finds what the full clock (a full evaluation at every instant with a stored line)
finds, on a seeded fleet history with incidents (``tests/scenarios/generate_fleet.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest

from alerts.models import AlertRule, Channel, Incident
from alerts.notify import outbox
from alerts.replay.lines import parse_lines
from alerts.replay.results import ReplayResult
from alerts.replay.simulation import simulate
from alerts.replay.specs import validate_rules
from benchmarks.backtest import default_rules_spec
from monitoring.models import Deployment
from tests.scenarios.generate_fleet import fleet_history


@pytest.fixture
def sandbox() -> Iterator[None]:
    """The test database stands in for the sandbox: no rules but the replayed ones, no sends."""
    AlertRule.objects.all().delete()
    with mock.patch.object(outbox, "dispatch", lambda notification_id, queue: None):
        yield


def replay(clock: str) -> ReplayResult:
    texts = [json.dumps(line) for line in fleet_history(sources=10, days=7, seed=19)]
    result = simulate(
        parse_lines(texts),
        validate_rules(default_rules_spec()),
        step=timedelta(seconds=300),
        tail=timedelta(hours=6),  # past the next night: missed schedules and stale too
        clock=clock,
    )
    AlertRule.objects.all().delete()
    Deployment.objects.all().delete()
    Channel.objects.all().delete()
    Incident.objects.all().delete()
    return result


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_the_focused_clock_finds_the_alerts_of_the_full_clock() -> None:
    focused = replay("focused")
    full = replay("full")
    rows = {(a.rule, a.source, a.severity, a.fired_at, a.resolved_at) for a in full.alerts}
    # The incidents generate_fleet injects, one of each at 20 sources, fire (not an empty match).
    assert {"Run failed", "Stale (no success when expected)"} <= {row[0] for row in rows}
    assert focused.alerts == full.alerts
    assert focused.notifications == full.notifications
    assert focused.stats["evaluations"] * 5 < full.stats["evaluations"]
