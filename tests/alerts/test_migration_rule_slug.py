"""Migration 0015: default rules lose the threshold from their names; every rule gets a slug."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from alerts.defaults import DEFAULT_RULES
from alerts.models import AlertRule

pytestmark = pytest.mark.django_db
migration = importlib.import_module("alerts.migrations.0015_rule_slug_and_plain_default_names")


def as_before(new: str, old: str) -> AlertRule:
    """A default rule as an install made before issue 18 named it."""
    rule = AlertRule.objects.get(name=new)
    AlertRule.objects.filter(pk=rule.pk).update(name=old)
    return rule


def without_slugs() -> None:
    """Slugs as before the migration (distinct, so the unique column of today takes them)."""
    for pk in AlertRule.objects.values_list("pk", flat=True):
        AlertRule.objects.filter(pk=pk).update(slug=f"old-{pk}")


def test_default_rules_still_named_as_shipped_lose_their_threshold() -> None:
    drop = as_before("Volume drop", "Volume drop over 30 %")
    drop.parameters = {**drop.parameters, "percent": 40}  # retuned: the old name lied
    AlertRule.objects.filter(pk=drop.pk).update(parameters=drop.parameters)
    twice = as_before("Consecutive failures", "Two consecutive failures")
    slow = as_before("Run too long", "Duration over 3x median")
    migration.forwards(apps, None)
    assert AlertRule.objects.get(pk=drop.pk).name == "Volume drop"
    assert AlertRule.objects.get(pk=twice.pk).name == "Consecutive failures"
    assert AlertRule.objects.get(pk=slow.pk).name == "Run too long"


def test_a_default_rule_an_operator_renamed_keeps_its_name() -> None:
    drop = as_before("Volume drop", "Rows fell (ours)")
    migration.forwards(apps, None)
    assert AlertRule.objects.get(pk=drop.pk).name == "Rows fell (ours)"


def test_a_custom_rule_with_a_shipped_name_is_not_renamed() -> None:
    AlertRule.objects.filter(name="Volume drop").delete()
    mine = AlertRule.objects.create(name="Volume drop over 30 %", kind="volume_drop")
    migration.forwards(apps, None)
    assert AlertRule.objects.get(pk=mine.pk).name == "Volume drop over 30 %"


def test_every_rule_gets_a_unique_slug_from_its_name() -> None:
    AlertRule.objects.create(name="Volume drop!", kind="volume_drop")
    AlertRule.objects.create(name="42", kind="run_failed")
    without_slugs()
    migration.forwards(apps, None)
    slugs = dict(AlertRule.objects.values_list("name", "slug"))
    assert len(set(slugs.values())) == len(slugs)
    assert slugs["Volume drop"] == "volume-drop"
    assert slugs["Volume drop!"] == "volume-drop-2"
    assert slugs["42"] == "rule-42"  # digits alone would read as an id


def test_going_back_restores_the_shipped_names() -> None:
    migration.backwards(apps, None)
    assert AlertRule.objects.filter(name="Volume drop over 30 %", is_default=True).exists()


def test_no_default_rule_name_carries_a_number() -> None:
    for default in DEFAULT_RULES:
        assert not any(c.isdigit() for c in default.name), default.name
        assert not default.name.lower().startswith(("one ", "two ", "three ")), default.name


def test_a_new_rule_is_given_a_slug_kept_when_it_is_renamed() -> None:
    rule = AlertRule.objects.create(name="Volume drop!", kind="volume_drop")
    rule.name = "Rows fell"
    rule.save()
    assert AlertRule.objects.get(pk=rule.pk).slug == "volume-drop-2"
    assert AlertRule.objects.get(name="Volume drop").slug == "volume-drop"
