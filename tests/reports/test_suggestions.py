"""Threshold suggestions: the backtest (a real replay in a child process) decides whether a
looser value of a noisy rule would have fired less without missing an acknowledged incident."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.choices import Severity
from reports.data import gather
from reports.suggestions import loosen, suggest
from tests.alerts import factories as f
from tests.reports.seed import DAY, NOW, at

pytestmark = pytest.mark.django_db


def test_only_kinds_with_one_obvious_knob_are_loosened() -> None:
    assert loosen("volume_drop", {"percent": 30}) == ("percent", 30.0, 40.0)
    assert loosen("volume_drop", {"percent": 90}) is None
    assert loosen("consecutive_failures", {}) == ("failures", 2.0, 3.0)
    assert loosen("stale", {"max_age_hours": 4}) == ("max_age_hours", 4.0, 6.0)
    assert loosen("duration", {"max_minutes": 10}) is None
    assert loosen("run_failed", {}) is None


def flapping_source(user: Any, acknowledge_one: bool) -> None:
    """Two failures in a row, then a success, three times: "2 consecutive failures" fires three
    times; with 3 it would never fire."""
    rule = f.rule("Two in a row", "consecutive_failures", severity=Severity.CRITICAL,
                  parameters={"failures": 2, "recover_after": 1})  # fmt: skip
    source = f.source("flaky", f.deployment())
    for hours in (1, 2, 3, 9, 10, 11, 17, 18, 19):
        f.run(source, at(hours), ok=hours in (3, 11, 19))
    for start in (2, 10, 18):
        alert = f.alert(rule, source, at(start))
        if acknowledge_one and start == 10:
            alert.acknowledge(user, "real", at(start + 0.1))
        alert.resolve(at(start + 1))


@pytest.mark.slow
def test_a_looser_threshold_is_suggested_when_it_misses_no_incident(admin_user: Any) -> None:
    flapping_source(admin_user, acknowledge_one=False)
    data = suggest(gather(DAY, "UTC"), NOW, limit=3)
    [suggestion] = data.suggestions
    assert (suggestion.parameter, suggestion.current, suggestion.suggested) == ("failures", 2, 3)
    assert (suggestion.fired_now, suggestion.fired_suggested, suggestion.incidents) == (3, 0, 0)
    assert "still catches every incident someone acknowledged" in data.suggestions_note


@pytest.mark.slow
def test_no_suggestion_when_it_would_miss_an_acknowledged_incident(admin_user: Any) -> None:
    flapping_source(admin_user, acknowledge_one=True)
    assert suggest(gather(DAY, "UTC"), NOW, limit=3).suggestions == []


def test_suggestions_can_be_switched_off(admin_user: Any) -> None:
    flapping_source(admin_user, acknowledge_one=False)
    data = suggest(gather(DAY, "UTC"), NOW, limit=0)
    assert (
        data.suggestions == []
        and data.suggestions_note == "Threshold suggestions are switched off."
    )
