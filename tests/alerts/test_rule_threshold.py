"""Each rule kind says its threshold in words, from its own parameters (shown beside a name)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.rules.base import kind


def said(name: str, parameters: dict[str, Any]) -> str:
    impl = kind(name)
    return str(impl.threshold(impl.parse_params(parameters)))


@pytest.mark.parametrize(
    ("name", "parameters", "words"),
    [
        ("volume_drop", {"percent": 30}, "over 30 %"),
        ("volume_drop", {"percent": 42.5}, "over 42.5 %"),
        ("volume_bounds", {"min": 1}, "below 1"),
        ("volume_bounds", {"max": 5000}, "above 5,000"),
        ("volume_bounds", {"min": 1, "max": 5000}, "outside 1 to 5,000"),
        ("volume_anomaly", {"z": 3}, "beyond 3 standard deviations"),
        ("duration", {"factor": 3}, "over 3x median"),
        ("duration", {"max_minutes": 90}, "over 1 h 30 min"),
        ("duration", {"factor": 3, "max_minutes": 90}, "over 3x median or 1 h 30 min"),
        ("consecutive_failures", {"failures": 2}, "after 2 failures"),
        ("consecutive_failures", {"failures": 1}, "after 1 failure"),
        ("stale", {"max_age_hours": 26}, "later than 1 d 2 h"),
        ("stale", {"grace_minutes": 30}, "cadence + 30 min"),
        ("missed_schedule", {"grace_minutes": 30}, "later than 30 min"),
        ("run_never_finished", {"max_hours": 6}, "after 6 h"),
        ("run_stuck", {"statuses": ["QUEUED"], "minutes": 15}, "after 15 min"),
        ("deployment_unreachable", {"for_minutes": 2}, "for 2 min"),
        ("deployment_unhealthy", {"heartbeat_minutes": 3}, "heartbeat older than 3 min"),
        ("metadata_threshold", {"metric": "duplicates", "op": ">", "value": 0}, "duplicates > 0"),
    ],
)
def test_a_kind_says_its_threshold_in_words(
    name: str, parameters: dict[str, Any], words: str
) -> None:
    assert said(name, parameters) == words


@pytest.mark.parametrize("name", ["run_failed", "tick_failed", "instigator_stopped"])
def test_a_kind_without_a_threshold_says_nothing(name: str) -> None:
    assert said(name, {}) == ""
