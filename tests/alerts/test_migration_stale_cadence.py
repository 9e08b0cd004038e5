"""Migration 0011: installs made with "Stale after 24 h" follow cadence unless it was retuned."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from alerts.defaults import STALE_RULE_NAME
from alerts.models import AlertRule

pytestmark = pytest.mark.django_db
migration = importlib.import_module("alerts.migrations.0011_stale_rule_follows_cadence")


def as_before(parameters: dict[str, float]) -> AlertRule:
    """The default stale rule as an install made before issue 15 stored it."""
    rule = AlertRule.objects.get(name=STALE_RULE_NAME)
    rule.name, rule.parameters = "Stale after 24 h", parameters
    rule.save()
    return rule


def test_the_shipped_rule_is_renamed_and_follows_cadence() -> None:
    rule = as_before({"max_age_hours": 24, "grace_minutes": 30})
    migration.follow_cadence(apps, None)
    rule.refresh_from_db()
    assert (rule.name, rule.parameters) == (STALE_RULE_NAME, {"grace_minutes": 30})


def test_a_retuned_rule_is_renamed_and_keeps_its_numbers() -> None:
    rule = as_before({"max_age_hours": 48, "grace_minutes": 30})
    migration.follow_cadence(apps, None)
    rule.refresh_from_db()
    assert (rule.name, rule.parameters) == (
        STALE_RULE_NAME,
        {"max_age_hours": 48, "grace_minutes": 30},
    )


def test_going_back_restores_the_fixed_24_hours() -> None:
    migration.fixed_24_hours(apps, None)
    rule = AlertRule.objects.get(is_default=True, kind="stale")
    assert (rule.name, rule.parameters) == (
        "Stale after 24 h",
        {"max_age_hours": 24, "grace_minutes": 30},
    )
