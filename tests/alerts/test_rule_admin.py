"""Rules are changed at run time in the admin: bad parameters are refused with a message, and
every change leaves an audit entry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Channel
from confops.accounts.models import AuditEntry
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db


def rule_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Stale wikicfp",
        "kind": "stale",
        "parameters": json.dumps({"max_age_hours": 48}),
        "severity": "critical",
        "enabled": "on",
        "description": "",
        "scope": "all",
        "scope_group": "",
        "scope_tags": "{}",
        "cooldown_minutes": 30,
        "pending_minutes": 0,
        "resolve_hold_minutes": 0,
        "overrides-TOTAL_FORMS": 0,
        "overrides-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("kind", "parameters", "message"),
    [
        ("stale", {"max_age_hours": -1}, "max_age_hours"),
        ("volume_drop", {"percent": 150}, "percent"),
        ("volume_anomaly", {"window_days": 0}, "window_days"),
        ("metadata_threshold", {"metric": "bad key!", "op": ">", "value": 0}, "metric"),
        ("stale", {"max_age": 3}, "is not a parameter of this rule kind"),
    ],
)
def test_invalid_parameters_are_refused_with_a_message(
    admin_client: Client, kind: str, parameters: dict[str, object], message: str
) -> None:
    response = admin_client.post(
        "/admin/alerts/alertrule/add/", rule_form(kind=kind, parameters=json.dumps(parameters))
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AlertRule.objects.filter(name="Stale wikicfp").exists()


def test_a_change_is_audited_with_who_and_what(admin_client: Client, admin_user: object) -> None:
    response = admin_client.post("/admin/alerts/alertrule/add/", rule_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AlertRule.objects.get(name="Stale wikicfp")
    admin_client.post(
        f"/admin/alerts/alertrule/{rule.pk}/change/",
        rule_form(parameters=json.dumps({"max_age_hours": 72})),
    )
    entry = AuditEntry.objects.filter(action="changed", object_id=str(rule.pk)).get()
    assert entry.actor == admin_user
    assert entry.changes["parameters"] == [{"max_age_hours": 48}, {"max_age_hours": 72}]


def test_a_per_source_override_is_edited_inline_and_validated(admin_client: Client) -> None:
    source = f.source("wikicfp_conferences", f.deployment())
    rule = AlertRule.objects.get(name="Stale (no success when expected)")
    base = rule_form(
        name=rule.name,
        kind="stale",
        parameters=json.dumps(rule.parameters),
        **{
            "overrides-TOTAL_FORMS": 1,
            "overrides-0-source": source.pk,
            "overrides-0-enabled": "on",
        },
    )
    bad = admin_client.post(
        f"/admin/alerts/alertrule/{rule.pk}/change/",
        {**base, "overrides-0-parameters": json.dumps({"metric": "count"})},
    )
    assert "cannot be overridden" in bad.content.decode()
    good = admin_client.post(
        f"/admin/alerts/alertrule/{rule.pk}/change/",
        {**base, "overrides-0-parameters": json.dumps({"max_age_hours": 48})},
    )
    assert good.status_code == 302
    assert rule.overrides.get(source=source).parameters == {"max_age_hours": 48}


def test_a_channel_secret_is_never_shown_in_full(admin_client: Client) -> None:
    channel = Channel.objects.create(
        name="ops", kind="slack", secret="https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
    )
    html = admin_client.get(f"/admin/alerts/channel/{channel.pk}/change/").content.decode()
    assert "XXXXsecretXXXX" not in html and "hooks.slack.com/services" not in html
    assert "XXXX" in html  # the masked tail lets an operator recognise it


def test_disabling_rules_in_bulk_is_audited(admin_client: Client) -> None:
    rule = AlertRule.objects.get(name="Run failed")
    admin_client.post(
        "/admin/alerts/alertrule/", {"action": "disable", "_selected_action": [rule.pk]}
    )
    rule.refresh_from_db()
    assert rule.enabled is False
    assert AuditEntry.objects.filter(
        object_id=str(rule.pk), changes__enabled=[True, False]
    ).exists()


def failed_twice_this_week() -> None:
    """elra_conferences failed 5 and 3 days ago, each time back two hours later."""
    elra = f.source("elra_conferences", f.deployment())
    now = timezone.now()
    for days_ago in (5, 3):
        f.run(elra, now - timedelta(days=days_ago), ok=False, error="HTTP 503 from elra.info")
        f.run(elra, now - timedelta(days=days_ago) + timedelta(hours=2), ok=True)


def test_backtest_in_the_form_counts_alerts_and_saves_nothing(admin_client: Client) -> None:
    failed_twice_this_week()
    response = admin_client.post(
        "/admin/alerts/alertrule/add/",
        rule_form(name="Failures", kind="run_failed", parameters="{}", _backtest="1"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Backtest (nothing saved)" in html
    assert "would have fired 2 alerts" in html and "elra_conferences" in html
    assert not AlertRule.objects.filter(name="Failures").exists()


def test_the_admins_backtest_is_shown_as_a_result_not_as_an_error(admin_client: Client) -> None:
    failed_twice_this_week()
    rule = AlertRule.objects.create(name="Failures", kind="run_failed", enabled=False)
    response = admin_client.post(
        f"/admin/alerts/alertrule/{rule.pk}/change/",
        rule_form(name="Failures renamed", kind="run_failed", parameters="{}", _backtest="1"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the error" not in html and 'class="errornote"' not in html
    assert "Backtest only" not in html
    # The rule page's panel: the saved setting against the form's, with the chart.
    assert 'class="card backtest-result"' in html and "saved: 2 alerts, edited: 2 alerts" in html
    assert 'class="backtest-chart"' in html and "alerts/rules.css" in html
    assert 'value="Failures renamed"' in html  # the form kept as typed, nothing saved
    rule.refresh_from_db()
    assert rule.name == "Failures"
