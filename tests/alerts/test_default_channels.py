"""Reaching someone by default: the first channel is a default channel, rules and escalations with
no channels of their own go to the default channels, alerts that waited for a channel go out once
it appears, and an alert that reached nobody says why on its page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from alerts import operations
from alerts.choices import ChannelKind, NotificationEvent, Severity
from alerts.engine import policy
from alerts.models import Alert, AlertRule, Channel, Notification
from alerts.rules.confops_stalled import ConfopsStalled
from alerts.rules.run_failed import RunFailed
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def slack_form(name: str = "ops-slack", **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": name,
        "kind": "slack",
        "enabled": "on",
        "min_severity": "warning",
        "config": json.dumps({}),
        "secret": f"https://hooks.slack.com/services/T0/B0/{name}",
    }
    data.update(overrides)
    return data


def sent(event: str = NotificationEvent.FIRING) -> list[tuple[str, list[int]]]:
    """(channel, alert ids) of each outbox row of ``event``, in order."""
    rows = Notification.objects.filter(event=event).order_by("pk")
    return [(r.channel.name if r.channel else "", [a.pk for a in r.alerts.all()]) for r in rows]


@pytest.fixture
def elra() -> Source:
    return f.source("elra", f.deployment())


@pytest.fixture
def bare_rule() -> AlertRule:
    """A rule with no channels of its own, as the shipped defaults are."""
    return f.rule("Failed, no channels", RunFailed.name, severity=Severity.WARNING)


# --- The first channel is a default channel ---------------------------------------------------


def test_the_first_channel_made_in_the_admin_is_default_and_the_second_is_not(
    admin_client: Client,
) -> None:
    admin_client.post("/admin/alerts/channel/add/", slack_form("first"))
    admin_client.post("/admin/alerts/channel/add/", slack_form("second"))
    assert dict(Channel.objects.values_list("name", "is_default")) == {
        "first": True,
        "second": False,
    }
    created = AuditEntry.objects.get(action="created", object_repr__startswith="first")
    assert created.changes["is_default"] == [None, True]


def test_the_admin_lists_filters_and_edits_the_default_flag(admin_client: Client) -> None:
    admin_client.post("/admin/alerts/channel/add/", slack_form("first"))
    second = admin_client.post("/admin/alerts/channel/add/", slack_form("second", is_default="on"))
    assert second.status_code == 302
    listed = admin_client.get("/admin/alerts/channel/?is_default__exact=1").content.decode()
    assert "first" in listed and "second" in listed and "is_default" in listed
    first = Channel.objects.get(name="first")
    admin_client.post(f"/admin/alerts/channel/{first.pk}/change/", slack_form("first"))
    first.refresh_from_db()
    assert not first.is_default  # unticked by the operator: no longer default


# --- Rules and escalations with no channels of their own ----------------------------------------


def test_a_rule_without_channels_goes_to_the_enabled_default_channels_it_suits(
    elra: Source, bare_rule: AlertRule
) -> None:
    f.channel("default-warn", is_default=True, min_severity=Severity.WARNING)
    f.channel("default-critical", is_default=True, min_severity=Severity.CRITICAL)
    f.channel("default-off", is_default=True, enabled=False)
    f.channel("not-default")
    alert = f.alert(bare_rule, elra, T0, last_notified_at=None)
    policy.on_changes([alert], [], [], T0)
    assert sent() == [("default-warn", [alert.pk])]


def test_a_rule_with_channels_of_its_own_does_not_go_to_the_defaults(elra: Source) -> None:
    f.channel("default", is_default=True)
    own = f.rule("Failed, own channel", RunFailed.name, channels=[f.channel("own")])
    policy.on_changes([f.alert(own, elra, T0)], [], [], T0)
    assert [name for name, _ in sent()] == ["own"]


def test_a_critical_default_rule_escalates_to_the_default_channels_after_30_minutes(
    elra: Source,
) -> None:
    f.channel("default", is_default=True)
    rule = AlertRule.objects.get(name="Consecutive failures")
    assert rule.escalate_after_minutes == 30 and not rule.escalation_channels.exists()
    alert = f.alert(rule, elra, T0, last_notified_at=T0)
    policy.send_reminders_and_escalations(T0 + timedelta(minutes=29))
    assert sent(NotificationEvent.ESCALATION) == []
    policy.send_reminders_and_escalations(T0 + timedelta(minutes=31))
    assert sent(NotificationEvent.ESCALATION) == [("default", [alert.pk])]


def test_with_no_default_channel_a_rule_without_channels_still_reaches_nobody(
    elra: Source, bare_rule: AlertRule
) -> None:
    f.channel("not-default")
    alert = f.alert(bare_rule, elra, T0, last_notified_at=None)
    assert policy.on_changes([alert], [], [], T0) == 0
    alert.refresh_from_db()
    assert alert.last_notified_at is None


def test_the_internal_alert_goes_to_the_default_channels_when_there_are_some() -> None:
    default = f.channel("default", is_default=True)
    f.channel("other")
    rule = AlertRule.objects.get(kind=ConfopsStalled.name)
    assert list(policy.channels_for(rule)) == [default]
    assert list(policy.escalation_channels_for(rule)) == [default]


# --- Alerts that waited for a channel -------------------------------------------------------------


def test_an_alert_that_fired_before_any_channel_is_sent_once_the_first_channel_is_made(
    admin_client: Client,
    elra: Source,
    bare_rule: AlertRule,
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = f.alert(bare_rule, elra, T0, last_notified_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post("/admin/alerts/channel/add/", slack_form("first"))
        first = Channel.objects.get(name="first")
        admin_client.post(f"/admin/alerts/channel/{first.pk}/change/", slack_form("first"))
        admin_client.post("/admin/alerts/channel/add/", slack_form("second", is_default="on"))
    assert sent() == [("first", [waiting.pk])]  # once: neither the edit nor a new default resends
    waiting.refresh_from_db()
    assert waiting.last_notified_at is not None


def test_alerts_of_a_rule_are_sent_once_when_the_rule_gets_its_first_channel(
    elra: Source, bare_rule: AlertRule, admin_user: Any
) -> None:
    waiting = f.alert(bare_rule, elra, T0, last_notified_at=None)
    ops = f.channel("ops")
    operations.save_rule(bare_rule, {"channels": [ops]}, admin_user, T0)
    operations.save_rule(bare_rule, {"channels": [ops]}, admin_user, T0 + timedelta(minutes=1))
    assert sent() == [("ops", [waiting.pk])]


def test_held_back_acknowledged_and_already_told_alerts_do_not_go_out_when_a_channel_appears(
    elra: Source, bare_rule: AlertRule, admin_user: Any
) -> None:
    other = f.source("wikicfp", elra.deployment)
    third = f.source("store", elra.deployment)
    f.alert(bare_rule, elra, T0, last_notified_at=None, inhibited=True)
    f.alert(bare_rule, other, T0, last_notified_at=None, state="acknowledged")
    f.alert(bare_rule, third, T0, last_notified_at=T0)
    operations.save_rule(bare_rule, {"channels": [f.channel("ops")]}, admin_user, T0)
    assert sent() == []


# --- Why an alert reached nobody ------------------------------------------------------------------


def unreached_text(client: Client, alert: Alert) -> str:
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    start = html.index('id="unreached"')
    return html[start : html.index("</p>", start)]


def test_the_page_says_the_rule_has_no_channel_and_links_an_admin_to_the_rule(
    admin_persona_client: Client, elra: Source, bare_rule: AlertRule
) -> None:
    alert = f.alert(bare_rule, elra, T0, last_notified_at=None)
    text = unreached_text(admin_persona_client, alert)
    assert "its rule has no channel and no channel is marked default" in text
    assert f'href="/admin/alerts/alertrule/{bare_rule.pk}/change/"' in text


def test_a_viewer_sees_the_reason_without_the_admin_link(
    viewer_user_client: Client, elra: Source, bare_rule: AlertRule
) -> None:
    alert = f.alert(bare_rule, elra, T0, last_notified_at=None)
    text = unreached_text(viewer_user_client, alert)
    assert "its rule has no channel" in text and "href" not in text


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        ({"enabled": False}, "every channel it would go to is disabled"),
        (
            {"min_severity": Severity.CRITICAL},
            "its severity (warning) is below the minimum severity of every channel",
        ),
    ],
)
def test_the_page_says_which_channel_setting_kept_it_and_links_the_channels(
    admin_persona_client: Client,
    elra: Source,
    bare_rule: AlertRule,
    channel: dict[str, Any],
    reason: str,
) -> None:
    f.channel("default", ChannelKind.SLACK, is_default=True, **channel)
    alert = f.alert(bare_rule, elra, T0, last_notified_at=None)
    text = unreached_text(admin_persona_client, alert)
    assert reason in text and 'href="/admin/alerts/channel/"' in text


def test_the_page_says_a_held_back_alert_is_held_back(
    admin_persona_client: Client, elra: Source, bare_rule: AlertRule
) -> None:
    f.channel("default", is_default=True)
    alert = f.alert(bare_rule, elra, T0, last_notified_at=None, inhibited=True)
    text = unreached_text(admin_persona_client, alert)
    assert "it is held back" in text and "href" not in text
