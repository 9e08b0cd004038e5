"""/api/v1/rules: list, read, create, change, enable/disable, delete; validated as the admin
validates and audited as the token's owner."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.choices import ChannelKind, ScopeKind, Severity
from alerts.models import AlertRule, Channel
from confops.accounts.models import ApiToken, AuditEntry
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack() -> Channel:
    return factories.channel("ops-slack")


@pytest.fixture
def email() -> Channel:
    return factories.channel(
        "ops-email", ChannelKind.EMAIL, config={"to": ["ops@example.com"]}, secret=""
    )


def stale_rule(**fields: Any) -> AlertRule:
    return factories.rule("Stale after 6 h", "stale", parameters={"max_age_hours": 6}, **fields)


def test_the_list_holds_the_default_rules_by_name_with_their_parameters(reader_api: Api) -> None:
    response = reader_api.get("/rules", limit=200)

    assert response.status_code == 200
    body = response.json()
    names = [rule["name"] for rule in body["results"]]
    assert names == sorted(names) and body["count"] == len(names) == AlertRule.objects.count()
    stale = next(
        rule for rule in body["results"] if rule["name"] == "Stale (no success when expected)"
    )
    assert stale["kind"] == "stale" and stale["is_default"] is True
    assert stale["parameters"] == {"grace_minutes": 30}  # max_age_hours unset: from cadence


def test_the_list_filters_by_kind_and_enabled(reader_api: Api) -> None:
    AlertRule.objects.filter(name="Asset check WARN").update(enabled=False)

    checks = reader_api.get("/rules", kind="check_failed").json()
    disabled = reader_api.get("/rules", enabled="false").json()

    assert {r["name"] for r in checks["results"]} == {"Asset check ERROR", "Asset check WARN"}
    assert [r["name"] for r in disabled["results"]] == ["Asset check WARN"]


def test_reading_a_rule_shows_its_channels_by_name(reader_api: Api, slack: Channel) -> None:
    rule = stale_rule(channels=[slack])

    body = reader_api.get(f"/rules/{rule.pk}").json()

    assert body["id"] == rule.pk and body["channels"] == ["ops-slack"]
    assert reader_api.get("/rules/999999").status_code == 404


def test_a_rule_is_created_with_channels_by_name_and_audited_as_the_token_owner(
    admin_api: Api, admin_token: tuple[ApiToken, str], slack: Channel, email: Channel
) -> None:
    body = {
        "name": "Stale after 48 h",
        "kind": "stale",
        "parameters": {"max_age_hours": 48},
        "severity": "critical",
        "channels": ["ops-slack", email.pk],
        "cooldown_minutes": 60,
        "scope": "group",
        "scope_group": "scrap*",
        "runbook": "stale-source",
    }

    response = admin_api.post("/rules", body)

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["channels"] == ["ops-email", "ops-slack"]
    assert created["runbook"] == "stale-source" and created["scope"] == ScopeKind.GROUP
    rule = AlertRule.objects.get(name="Stale after 48 h")
    assert rule.severity == Severity.CRITICAL and rule.cooldown_minutes == 60
    entry = AuditEntry.objects.get(action="created", object_id=str(rule.pk))
    token = admin_token[0]
    assert entry.actor is not None and entry.actor.username == "ada-admin"
    assert entry.actor_label == f"API token thresholds-ci ({token.prefix}…)"
    assert entry.changes["parameters"] == [None, {"max_age_hours": 48}]
    assert sorted(entry.changes["channels"][1]) == sorted([slack.pk, email.pk])


def test_an_invalid_threshold_is_a_400_naming_the_parameter(admin_api: Api) -> None:
    rule = stale_rule()

    response = admin_api.patch(f"/rules/{rule.pk}", {"parameters": {"max_age_hours": -1}})

    assert response.status_code == 400
    assert response.json()["fields"] == {"parameters.max_age_hours": "must be greater than 0"}
    rule.refresh_from_db()
    assert rule.parameters == {"max_age_hours": 6}
    assert not AuditEntry.objects.filter(object_id=str(rule.pk)).exists()


def test_an_unknown_parameter_gets_the_admin_s_message(admin_api: Api) -> None:
    response = admin_api.post(
        "/rules", {"name": "x", "kind": "stale", "parameters": {"max_age_hourz": 3}}
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "parameters.max_age_hourz": "is not a parameter of this rule kind"
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "nope"}, "kind", "Value 'nope' is not a valid choice."),
        ({"cooldown_minutes": 0}, "cooldown_minutes", "greater than or equal to 1"),
        ({"scope": "group"}, "scope_group", "name the group this rule covers"),
        ({"name": "Run failed"}, "name", "already exists"),
        ({"channels": ["no-such-channel"]}, "channels", "no channel 'no-such-channel'"),
        ({"severity": "loud"}, "severity", "Input should be"),
        ({"thresholds": {}}, "thresholds", "is not a field of this request"),
        ({"name": None}, "name", "may not be null"),
    ],
)
def test_invalid_changes_are_a_400_with_the_field_s_message(
    admin_api: Api, body: dict[str, Any], field: str, message: str
) -> None:
    rule = stale_rule()

    response = admin_api.patch(f"/rules/{rule.pk}", body)

    assert response.status_code == 400, response.json()
    assert message in response.json()["fields"][field]


def test_a_patch_changes_only_what_it_sends_and_audits_the_difference(
    admin_api: Api, slack: Channel, email: Channel
) -> None:
    rule = stale_rule(channels=[slack], severity=Severity.WARNING)

    response = admin_api.patch(
        f"/rules/{rule.pk}",
        {"severity": "critical", "channels": ["ops-email"], "pending_minutes": 5},
    )

    assert response.status_code == 200
    assert response.json()["channels"] == ["ops-email"]
    rule.refresh_from_db()
    assert (rule.severity, rule.pending_minutes, rule.parameters) == (
        "critical",
        5,
        {"max_age_hours": 6},
    )
    entry = AuditEntry.objects.get(action="changed", object_id=str(rule.pk))
    assert entry.changes["severity"] == ["warning", "critical"]
    assert entry.changes["channels"] == [[slack.pk], [email.pk]]
    assert "parameters" not in entry.changes
    assert entry.actor_label.startswith("API token thresholds-ci")


def test_disable_and_enable_switch_the_rule_and_audit_once(admin_api: Api) -> None:
    rule = stale_rule()

    first = admin_api.post(f"/rules/{rule.pk}/disable")
    again = admin_api.post(f"/rules/{rule.pk}/disable")

    assert first.status_code == again.status_code == 200
    assert first.json()["enabled"] is False
    entries = AuditEntry.objects.filter(object_id=str(rule.pk), action="changed")
    assert [e.changes for e in entries] == [{"enabled": [True, False]}]
    assert admin_api.post(f"/rules/{rule.pk}/enable").json()["enabled"] is True


def test_deleting_a_default_rule_works_as_in_the_admin_and_restore_brings_it_back(
    admin_api: Api,
) -> None:
    from django.core.management import call_command

    rule = AlertRule.objects.get(name="Run failed")

    response = admin_api.delete(f"/rules/{rule.pk}")

    assert response.status_code == 204
    assert not AlertRule.objects.filter(name="Run failed").exists()
    entry = AuditEntry.objects.get(action="deleted", object_id=str(rule.pk))
    assert entry.actor is not None and entry.actor.username == "ada-admin"
    assert admin_api.delete(f"/rules/{rule.pk}").status_code == 404
    call_command("restore_default_rules", verbosity=0)
    assert AlertRule.objects.filter(name="Run failed", is_default=True).exists()


def test_lists_are_paged_with_links(reader_api: Api) -> None:
    total = AlertRule.objects.count()

    first = reader_api.get("/rules", limit=5).json()
    second = reader_api.get("/rules", limit=5, offset=5).json()

    assert first["count"] == total and len(first["results"]) == 5
    assert first["previous"] is None and "offset=5" in first["next"]
    assert "offset=0" in second["previous"]
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])
    too_many = reader_api.get("/rules", limit=1000)
    assert too_many.status_code == 400 and "limit" in too_many.json()["fields"]
