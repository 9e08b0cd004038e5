"""Owners and tags route alerts: a channel with route owners or tags also takes the alerts of the
sources it matches (once, whatever their rule's channels), and only those when no rule names it;
severity minimums and silences still apply; edited through the channels' door, audited."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from alerts.choices import NotificationEvent, Severity
from alerts.engine import policy
from alerts.models import AlertRule, Channel, Notification
from alerts.rules.run_failed import RunFailed
from confops.accounts.models import AuditEntry
from monitoring.models import Deployment, Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def told(event: str = NotificationEvent.FIRING) -> dict[str, list[str]]:
    """Channel name -> subjects of the alerts its outbox rows of ``event`` list."""
    out: dict[str, list[str]] = {}
    for row in Notification.objects.filter(event=event).order_by("pk"):
        out.setdefault(row.channel.name if row.channel else "", []).extend(
            a.subject for a in row.alerts.all()
        )
    return out


@pytest.fixture
def dep() -> Deployment:
    return f.deployment()


@pytest.fixture
def ingestion(dep: Deployment) -> Source:
    return f.source("retail/acme_skus", dep, dagster_owners=["team:ingestion"], tags={})


@pytest.fixture
def retail(dep: Deployment) -> Source:
    return f.source(
        "retail/orders", dep, dagster_owners=["alice@example.com"], tags={"domain": "retail"}
    )


@pytest.fixture
def both(dep: Deployment) -> Source:
    return f.source(
        "retail/prices", dep, dagster_owners=["team:ingestion"], tags={"domain": "retail"}
    )


@pytest.fixture
def nobody(dep: Deployment) -> Source:
    return f.source("finance/ledger", dep, tags={"domain": "finance"})


@pytest.fixture
def rule() -> AlertRule:
    return f.rule(
        "Failed", RunFailed.name, channels=[f.channel("oncall")], severity=Severity.CRITICAL
    )


def fire(rule: AlertRule, *sources: Source) -> None:
    policy.on_changes([f.alert(rule, s, T0) for s in sources], [], [], T0)


def test_a_channel_routed_by_owner_takes_only_that_owner_s_sources(
    rule: AlertRule, ingestion: Source, nobody: Source
) -> None:
    f.channel("ingestion", route_owners=["team:ingestion"])
    fire(rule, ingestion, nobody)
    sent = told()
    assert sent["ingestion"] == [ingestion.key]
    assert sorted(sent["oncall"]) == sorted([ingestion.key, nobody.key])


def test_a_channel_routed_by_tag_takes_sources_with_that_tag_or_key(
    rule: AlertRule, retail: Source, nobody: Source
) -> None:
    f.channel("retail", route_tags=["domain=retail"])
    f.channel("any-domain", route_tags=["domain"])
    fire(rule, retail, nobody)
    sent = told()
    assert sent["retail"] == [retail.key]
    assert sorted(sent["any-domain"]) == sorted([retail.key, nobody.key])


def test_with_owners_and_tags_a_source_must_match_both(
    rule: AlertRule, ingestion: Source, retail: Source, both: Source
) -> None:
    f.channel("retail-ingestion", route_owners=["team:ingestion"], route_tags=["domain=retail"])
    fire(rule, ingestion, retail, both)
    assert told()["retail-ingestion"] == [both.key]


def test_a_channel_without_routes_or_rule_takes_nothing(rule: AlertRule, ingestion: Source) -> None:
    f.channel("quiet")
    fire(rule, ingestion)
    assert set(told()) == {"oncall"}


def test_the_operator_set_owner_routes_too(rule: AlertRule, nobody: Source) -> None:
    nobody.owner = "team:finance"
    nobody.save(update_fields=["owner"])
    f.channel("finance", route_owners=["team:finance"])
    fire(rule, nobody)
    assert told()["finance"] == [nobody.key]


def test_an_incident_pages_a_routed_channel_once_even_when_its_rule_names_it(
    ingestion: Source, both: Source
) -> None:
    routed = f.channel("ingestion", route_owners=["team:ingestion"])
    rule = f.rule("Failed", RunFailed.name, channels=[routed], severity=Severity.CRITICAL)
    fire(rule, ingestion, both)
    rows = Notification.objects.filter(event=NotificationEvent.FIRING, channel=routed)
    assert rows.count() == 1
    assert sorted(a.subject for a in rows.get().alerts.all()) == sorted([ingestion.key, both.key])


def test_a_routed_channel_keeps_its_severity_minimum(rule: AlertRule, ingestion: Source) -> None:
    f.channel("ingestion", route_owners=["team:ingestion"], min_severity=Severity.CRITICAL)
    warn = f.rule("Warn", RunFailed.name, channels=[f.channel("w")], severity=Severity.WARNING)
    fire(warn, ingestion)
    assert "ingestion" not in told()


def test_a_held_back_alert_reaches_no_routed_channel(rule: AlertRule, ingestion: Source) -> None:
    f.channel("ingestion", route_owners=["team:ingestion"])
    alert = f.alert(rule, ingestion, T0, inhibited=True)  # held back, as a silence holds it
    policy.on_changes([alert], [], [], T0)
    assert told() == {}


# --- Editing routes ------------------------------------------------------------------------------


def slack_form(name: str, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": name,
        "kind": "slack",
        "enabled": "on",
        "min_severity": "warning",
        "route_owners": "[]",
        "route_tags": "[]",
        "config": json.dumps({}),
        "secret": f"https://hooks.slack.com/services/T0/B0/{name}",
    }
    data.update(overrides)
    return data


def test_the_admin_saves_routes_audited_and_a_routed_first_channel_is_not_default(
    admin_client: Client,
) -> None:
    response = admin_client.post(
        "/admin/alerts/channel/add/",
        slack_form(
            "ingestion",
            route_owners='["team:ingestion"]',
            route_tags='["domain=retail"]',
        ),
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="ingestion")
    assert channel.route_owners == ["team:ingestion"] and channel.route_tags == ["domain=retail"]
    assert not channel.is_default
    entry = AuditEntry.objects.get(action="created", object_repr__startswith="ingestion")
    assert entry.changes["route_owners"] == [None, ["team:ingestion"]]
    page = admin_client.get(f"/admin/alerts/channel/{channel.pk}/change/").content.decode()
    assert "team:ingestion" in page and "domain=retail" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("route_owners", '"team:ingestion"', "JSON list of non-empty texts"),
        ("route_owners", '[""]', "JSON list of non-empty texts"),
        ("route_tags", '["=retail"]', '"key" or "key=value"'),
    ],
)
def test_the_admin_refuses_malformed_routes_with_a_clear_error(
    admin_client: Client, field: str, value: str, message: str
) -> None:
    response = admin_client.post("/admin/alerts/channel/add/", slack_form("bad", **{field: value}))
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not Channel.objects.filter(name="bad").exists()


def test_a_default_channel_cannot_carry_routes() -> None:
    channel = Channel(
        name="d",
        kind="slack",
        is_default=True,
        route_owners=["team:ingestion"],
        secret="https://hooks.slack.com/services/T0/B0/x",
    )
    with pytest.raises(ValidationError) as caught:
        channel.full_clean()
    assert "cannot also be a default channel" in str(caught.value.message_dict["is_default"])
