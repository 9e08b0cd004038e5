"""Migration 0013: the default volume rules that judged ``count`` choose each source's key."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from alerts.models import AlertRule

pytestmark = pytest.mark.django_db
migration = importlib.import_module("alerts.migrations.0013_volume_rules_choose_key")


def as_before(kind: str, **parameters: Any) -> AlertRule:
    """A default volume rule as an install made before issue 16 stored it."""
    rule = AlertRule.objects.get(is_default=True, kind=kind)
    rule.parameters = {**rule.parameters, **parameters}
    rule.save()
    return rule


def test_the_shipped_volume_rules_move_to_the_automatic_key() -> None:
    drop = as_before("volume_drop", metric="count")
    bounds = as_before("volume_bounds", metric="count")
    migration.choose_key(apps, None)
    drop.refresh_from_db()
    bounds.refresh_from_db()
    assert drop.parameters == {"metric": "auto", "percent": 30, "window_runs": 7}
    assert bounds.parameters == {"metric": "auto", "min": 1}


def test_a_retuned_rule_keeps_its_numbers_and_a_chosen_key_stays() -> None:
    drop = as_before("volume_drop", metric="count", percent=50)
    bounds = as_before("volume_bounds", metric="sku_count")
    migration.choose_key(apps, None)
    drop.refresh_from_db()
    bounds.refresh_from_db()
    assert drop.parameters == {"metric": "auto", "percent": 50, "window_runs": 7}
    assert bounds.parameters == {"metric": "sku_count", "min": 1}


def test_a_rule_made_by_an_operator_is_left_alone() -> None:
    rule = AlertRule.objects.create(
        name="My count", kind="volume_drop", parameters={"metric": "count", "percent": 20}
    )
    migration.choose_key(apps, None)
    rule.refresh_from_db()
    assert rule.parameters == {"metric": "count", "percent": 20}


def test_going_back_restores_count() -> None:
    migration.count_only(apps, None)
    rule = AlertRule.objects.get(is_default=True, kind="volume_drop")
    assert rule.parameters["metric"] == "count"
