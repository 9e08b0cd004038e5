"""Incidents on /metrics: open ones per severity (zeros included, so graphs have a line from the
start) and those flapping, from one grouped query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.choices import AlertState, IncidentState
from confops.runtime.metrics import incident_families
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of
from tests.confops.test_metrics import NOW, TOKEN, scrape, value

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def token(settings: Any) -> Any:
    settings.METRICS_BEARER_TOKEN = TOKEN
    return settings


def seed_incidents() -> None:
    """Open: one critical, one warning acknowledged, one warning flapping; and one resolved."""
    dep = f.deployment("prod")
    at = NOW - timedelta(hours=1)
    a, b, c, d = (f.source(key, dep) for key in ("a", "b", "c", "d"))
    incident_of("a failed", incident("Consecutive failures", a, at=at), severity="critical")
    incident_of(
        "b failed", incident("Run failed", b, AlertState.ACKNOWLEDGED, at=at), state="acknowledged"
    )
    incident_of(
        "c flaps",
        incident("Run failed", c, at=at),
        flapping_since=NOW - timedelta(minutes=5),
        flaps=2,
    )
    incident_of(
        "d was down",
        incident("Run failed", d, AlertState.RESOLVED, at=at),
        state=IncidentState.RESOLVED,
        flapping_since=at,
    )


def test_open_incidents_are_counted_per_severity_and_flapping(token: Any, client: Client) -> None:
    seed_incidents()
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    opened = families["confops_incidents_open"]
    assert value(opened, severity="critical") == 1
    assert value(opened, severity="warning") == 2
    assert value(opened, severity="info") == 0
    assert value(families["confops_incidents_flapping"]) == 1


def test_without_incidents_every_severity_shows_zero(token: Any, client: Client) -> None:
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    assert {s.labels["severity"]: s.value for s in families["confops_incidents_open"]} == {
        "critical": 0.0,
        "warning": 0.0,
        "info": 0.0,
    }
    assert value(families["confops_incidents_flapping"]) == 0


def test_the_incident_families_take_one_query() -> None:
    seed_incidents()
    with CaptureQueriesContext(connection) as captured:
        list(incident_families())
    assert len(captured.captured_queries) == 1
