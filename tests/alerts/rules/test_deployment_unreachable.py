"""deployment_unreachable: polls of a deployment have failed for a while."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from alerts.rules.base import DeploymentHistory, kind
from tests.alerts.rules.factories import NOW, deployment, judge_deployment, param_errors

M = timedelta(minutes=1)


def failing(minutes: float, **fields: Any) -> DeploymentHistory:
    return deployment(
        failing_since=NOW - minutes * M,
        last_success_at=NOW - (minutes + 1) * M,
        consecutive_failures=5,
        last_error="ConnectionError: [Errno 111] Connection refused\nTraceback ...",
        **fields,
    )


def test_a_reachable_deployment_is_no_finding() -> None:
    assert judge_deployment("deployment_unreachable", deployment()) is None


def test_a_short_blip_is_no_finding() -> None:
    assert judge_deployment("deployment_unreachable", failing(1)) is None


def test_exactly_for_minutes_fires() -> None:
    finding = judge_deployment("deployment_unreachable", failing(2))
    assert finding is not None and finding.since == NOW


def test_a_long_outage_fires_with_the_last_error() -> None:
    finding = judge_deployment("deployment_unreachable", failing(10))
    assert finding is not None
    assert finding.summary == (
        "prod unreachable for 10 min (5 failed polls): "
        "ConnectionError: [Errno 111] Connection refused"
    )
    assert finding.since == NOW - 8 * M
    json.dumps(finding.details)
    assert kind("deployment_unreachable").time_based


def test_for_minutes_sets_the_threshold() -> None:
    assert judge_deployment("deployment_unreachable", failing(10), for_minutes=15) is None


def test_a_disabled_deployment_never_fires() -> None:
    assert judge_deployment("deployment_unreachable", failing(60, enabled=False)) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"for_minutes": 0}, {"for_minutes": "must be greater than 0"}),
        ({"for_minutes": -3}, {"for_minutes": "must be greater than 0"}),
        ({"minutes": 3}, {"minutes": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("deployment_unreachable", **raw) == expected
