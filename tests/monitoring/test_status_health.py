"""How a source's state is judged for the status page (``monitoring.status``), in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from monitoring.choices import HealthState
from monitoring.status import (
    RECENT_SUCCESS,
    OpenAlerts,
    deployment_problem,
    source_health,
    source_state,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RECENT = NOW - timedelta(hours=3)


def judge(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "paused": False,
        "deployment_problem": "",
        "alerts": OpenAlerts(),
        "last_run_at": RECENT,
        "last_success_at": RECENT,
        "now": NOW,
    }
    return source_health(**(values | overrides))


@pytest.mark.parametrize(
    ("overrides", "state"),
    [
        ({}, HealthState.HEALTHY),
        ({"alerts": OpenAlerts(info=2)}, HealthState.HEALTHY),
        ({"alerts": OpenAlerts(warning=1, example="Run failed")}, HealthState.WARNING),
        ({"alerts": OpenAlerts(critical=1, warning=3)}, HealthState.CRITICAL),
        ({"paused": True, "alerts": OpenAlerts(critical=1)}, HealthState.PAUSED),
        ({"deployment_problem": "deployment unreachable"}, HealthState.UNKNOWN),
        ({"last_run_at": None, "last_success_at": None}, HealthState.UNKNOWN),
        ({"last_success_at": None}, HealthState.UNKNOWN),
        ({"last_success_at": NOW - timedelta(days=8)}, HealthState.UNKNOWN),
        ({"last_success_at": NOW - RECENT_SUCCESS}, HealthState.HEALTHY),
        ({"alerts": OpenAlerts(info=1), "last_success_at": None}, HealthState.UNKNOWN),
        (
            {"last_success_at": None, "last_run_at": None, "alerts": OpenAlerts(warning=1)},
            HealthState.WARNING,
        ),
        ({"alerts": OpenAlerts(critical=1, closes_at=NOW)}, HealthState.RECOVERING),
        (
            {"paused": True, "alerts": OpenAlerts(critical=1, closes_at=NOW)},
            HealthState.PAUSED,
        ),
    ],
)
def test_the_state_follows_the_order_of_precedence(
    overrides: dict[str, Any], state: HealthState
) -> None:
    assert judge(**overrides).state == state
    # The status page's shortcut for thousands of sources judges alike.
    values: dict[str, Any] = {"paused": False, "deployment_problem": "", "alerts": OpenAlerts()}
    values |= {k: v for k, v in overrides.items() if k in values}
    succeeded = overrides.get("last_success_at", RECENT)
    recent = succeeded is not None and NOW - succeeded <= RECENT_SUCCESS
    assert source_state(**values, recent_success=recent) == state


def test_the_reason_names_the_worst_rule_and_how_many_more() -> None:
    health = judge(alerts=OpenAlerts(critical=3, example="Stale after 24 h"))
    assert health.reason == "Stale after 24 h (+2 more)"
    assert (health.colour, health.icon, health.label) == ("red", "i-critical", "Critical")


def test_a_recovering_source_says_when_its_alerts_close() -> None:
    closes = datetime(2026, 11, 2, 11, 30, tzinfo=UTC)
    with timezone.override("UTC"):
        health = judge(alerts=OpenAlerts(warning=1, closes_at=closes, example="Run failed"))
    assert health.reason == "recovering, closes at 11:30"
    assert (health.colour, health.label) == ("blue", "Recovering")


def test_an_unreachable_deployment_says_for_how_long() -> None:
    problem = deployment_problem(True, RECENT, 3, NOW - timedelta(minutes=7), NOW)
    assert problem == "deployment unreachable for 7 min"
    assert deployment_problem(False, RECENT, 0, None, NOW).startswith("deployment disabled")
    assert deployment_problem(True, None, 0, None, NOW) == "deployment not polled yet"
    assert deployment_problem(True, RECENT, 0, None, NOW) == ""
