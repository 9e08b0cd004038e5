"""The default rules exist after migrate, validate, and can be restored."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from alerts.defaults import DEFAULT_RULES
from alerts.models import AlertRule
from alerts.rules.base import all_kinds

pytestmark = pytest.mark.django_db


def test_migrate_created_every_default_rule() -> None:
    names = set(AlertRule.objects.filter(is_default=True).values_list("name", flat=True))
    assert names == {d.name for d in DEFAULT_RULES}


def test_every_default_rule_names_a_kind_and_valid_parameters() -> None:
    for rule in AlertRule.objects.filter(is_default=True):
        assert rule.kind in all_kinds(), rule.kind
        rule.full_clean()  # raises with a message if a parameter is off


def test_the_issue_s_defaults_are_covered() -> None:
    by_kind = {(r.kind, r.severity) for r in AlertRule.objects.all()}
    for expected in [
        ("run_failed", "warning"),
        ("consecutive_failures", "critical"),
        ("stale", "critical"),
        ("volume_drop", "warning"),
        ("volume_bounds", "warning"),
        ("duration", "warning"),
        ("check_failed", "critical"),
        ("check_failed", "warning"),
        ("metadata_threshold", "warning"),
        ("tick_failed", "warning"),
        ("deployment_unreachable", "critical"),
    ]:
        assert expected in by_kind, expected


def test_restoring_recreates_a_deleted_rule_and_keeps_changes_unless_reset() -> None:
    AlertRule.objects.filter(name="Run failed").delete()
    stale = AlertRule.objects.get(name="Stale (no success when expected)")
    stale.parameters = {"max_age_hours": 48}
    stale.save()
    out = io.StringIO()
    call_command("restore_default_rules", stdout=out)
    assert "Run failed" in out.getvalue()
    stale.refresh_from_db()
    assert stale.parameters == {"max_age_hours": 48}
    call_command("restore_default_rules", "--reset", stdout=out)
    stale.refresh_from_db()
    assert stale.parameters == {"grace_minutes": 30}  # the shipped rule follows cadence
