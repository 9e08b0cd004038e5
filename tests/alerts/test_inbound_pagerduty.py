"""PagerDuty's v3 webhooks acting on confops, against the fake PagerDuty: an acknowledge or
resolve done there comes back (audited as the PagerDuty user) and is not echoed to PagerDuty;
a forged signature and a replay change nothing; and a 10-minute PagerDuty outage, run over
simulated time through delivery, the sweeper and the reconciler, leaves exactly one PagerDuty
incident per confops incident, resolved, with no trigger after the resolve."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings

from alerts import operations
from alerts.choices import IncidentState, NotificationEvent, NotificationStatus
from alerts.engine import delivery, policy, reconcile
from alerts.models import (
    Channel,
    ChatIdentity,
    InboundRequest,
    Incident,
    IncidentMirror,
    Notification,
)
from confops.accounts.models import AuditEntry
from tests.alerts import factories as f
from tests.alerts.incidents import incident_of
from tests.alerts.integrations import post_webhook
from tests.fixtures.pagerduty import ROUTING_KEY, FakePagerDuty

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
SIGNING = "whsec-confops-test-signing-secret"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    """The webhook view reads the clock: it stands a minute after T0, the engine's "now"."""
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False) as traveller:
        yield traveller


def pd_channel() -> Channel:
    return f.channel("pd", kind="pagerduty", secret=ROUTING_KEY, config={"webhook_secret": SIGNING})


def told_incident(chan: Channel, source: str = "elra_conferences") -> Incident:
    """An incident of one firing alert whose firing row to ``chan`` is in the outbox."""
    rule = f.rule(f"Run failed {source}", "run_failed", [chan], severity="critical")
    dep = f.deployment(f"dep-{source}")
    alert = f.alert(rule, f.source(source, dep), T0, last_notified_at=T0)
    incident = incident_of(f"Run failed on {source}", alert, last_notified_at=T0)
    policy.create_notification(chan, NotificationEvent.FIRING, rule, [alert], T0, incident)
    return incident


def deliver_due(now: datetime) -> list[str]:
    """Deliver every row the sweeper hands out at ``now``; their outcomes."""
    return [delivery.deliver(pk, now, rng=lambda: 1.0).status for pk in delivery.sweep(now)]


@pytest.fixture
def paged(fake_pagerduty: FakePagerDuty) -> tuple[Channel, Incident, str]:
    """A channel, an incident PagerDuty was told of, and its dedup key."""
    chan = pd_channel()
    incident = told_incident(chan)
    assert deliver_due(T0 + timedelta(seconds=10)) == ["sent"]
    return chan, incident, f"confops-incident-{incident.pk}"


def test_an_acknowledge_in_pagerduty_acknowledges_in_confops_as_the_pagerduty_user(
    client: Client, fake_pagerduty: FakePagerDuty, paged: tuple[Channel, Incident, str]
) -> None:
    chan, incident, key = paged
    body, headers = fake_pagerduty.webhook("incident.acknowledged", key, SIGNING, agent="Jane Doe")

    assert post_webhook(client, chan, body, headers) == 200

    incident.refresh_from_db()
    assert incident.state == IncidentState.ACKNOWLEDGED
    entry = AuditEntry.objects.get(action="acknowledged", object_type__icontains="incident")
    assert (entry.actor, entry.actor_label) == (None, "PagerDuty: Jane Doe")
    assert IncidentMirror.objects.get(channel=chan, incident=incident).remote_state == (
        "acknowledged"
    )
    # confops' acknowledged message to this channel is not echoed back to PagerDuty.
    assert deliver_due(T0 + timedelta(minutes=5)) == ["sent"]
    assert [e["event_action"] for e in fake_pagerduty.events] == ["trigger"]
    assert fake_pagerduty.incidents[0].state == "acknowledged"


def test_a_resolve_in_pagerduty_resolves_in_confops_and_is_not_sent_back(
    client: Client,
    fake_pagerduty: FakePagerDuty,
    paged: tuple[Channel, Incident, str],
    operator_user: Any,
) -> None:
    chan, incident, key = paged
    ChatIdentity.objects.create(
        provider="pagerduty",
        external_id="PLH1HKV",
        display_name="Jane Doe",
        user=operator_user,
        linked_at=T0,
    )
    body, headers = fake_pagerduty.webhook("incident.resolved", key, SIGNING, agent="Jane Doe")

    assert post_webhook(client, chan, body, headers) == 200

    incident.refresh_from_db()
    assert incident.state == IncidentState.RESOLVED
    entry = AuditEntry.objects.get(action="resolved", object_type__icontains="incident")
    assert (entry.actor, entry.actor_label) == (operator_user, "PagerDuty: Jane Doe")
    deliver_due(T0 + timedelta(minutes=5))
    assert [e["event_action"] for e in fake_pagerduty.events] == ["trigger"]
    assert reconcile.reconcile(T0 + timedelta(hours=1)) == 0


def test_a_forged_signature_changes_nothing(
    client: Client, fake_pagerduty: FakePagerDuty, paged: tuple[Channel, Incident, str]
) -> None:
    chan, incident, key = paged
    body, _ = fake_pagerduty.webhook("incident.resolved", key, "not-the-secret")
    forged = {"X-PagerDuty-Signature": "v1=" + "0" * 64}

    assert post_webhook(client, chan, body, forged) == 401
    assert post_webhook(client, chan, body, {}) == 401
    _, wrong_key = fake_pagerduty.webhook("incident.resolved", key, "not-the-secret")
    assert post_webhook(client, chan, body, wrong_key) == 401

    incident.refresh_from_db()
    assert incident.state == IncidentState.OPEN
    assert not AuditEntry.objects.filter(action="resolved").exists()


def test_any_of_several_signatures_may_match(
    client: Client, fake_pagerduty: FakePagerDuty, paged: tuple[Channel, Incident, str]
) -> None:
    chan, incident, key = paged
    body, headers = fake_pagerduty.webhook(
        "incident.acknowledged", key, SIGNING, extra_signatures=("v1=" + "a" * 64,)
    )
    assert "," in headers["X-PagerDuty-Signature"]

    assert post_webhook(client, chan, body, headers) == 200

    incident.refresh_from_db()
    assert incident.state == IncidentState.ACKNOWLEDGED


def test_a_replayed_webhook_changes_nothing(
    client: Client, fake_pagerduty: FakePagerDuty, paged: tuple[Channel, Incident, str]
) -> None:
    chan, incident, key = paged
    ack, ack_headers = fake_pagerduty.webhook("incident.acknowledged", key, SIGNING)
    unack, unack_headers = fake_pagerduty.webhook("incident.unacknowledged", key, SIGNING)
    assert post_webhook(client, chan, ack, ack_headers) == 200
    assert post_webhook(client, chan, unack, unack_headers) == 200
    incident.refresh_from_db()
    assert incident.state == IncidentState.OPEN

    assert post_webhook(client, chan, ack, ack_headers) == 200  # the same delivery again

    incident.refresh_from_db()
    assert incident.state == IncidentState.OPEN
    assert (
        AuditEntry.objects.filter(action="acknowledged", object_type__icontains="incident").count()
        == 1
    )


def test_an_incident_confops_does_not_know_is_answered_and_ignored(
    client: Client, fake_pagerduty: FakePagerDuty, paged: tuple[Channel, Incident, str]
) -> None:
    chan, incident, _ = paged
    body, headers = fake_pagerduty.webhook("incident.resolved", "someone-elses-key", SIGNING)

    assert post_webhook(client, chan, body, headers) == 200

    incident.refresh_from_db()
    assert incident.state == IncidentState.OPEN


@override_settings(NOTIFICATION_MAX_ATTEMPTS=4)
def test_after_a_ten_minute_outage_nothing_is_orphaned_or_doubled(
    fake_pagerduty: FakePagerDuty, operator_user: Any
) -> None:
    chan = pd_channel()
    first, second = told_incident(chan, "elra_conferences"), told_incident(chan, "acme_prices")
    assert sorted(deliver_due(T0 + timedelta(seconds=10))) == ["sent", "sent"]
    down_at, up_at = T0 + timedelta(minutes=1), T0 + timedelta(minutes=11)

    now = T0 + timedelta(seconds=10)
    while now < T0 + timedelta(minutes=40):
        now += timedelta(seconds=30)
        fake_pagerduty.down = "503" if down_at <= now < up_at else ""
        if now == T0 + timedelta(minutes=2, seconds=10):  # both close during the outage
            operations.acknowledge_incident(first, operator_user, "on it", now)
            operations.resolve_incident(first, operator_user, now)
            operations.resolve_incident(second, operator_user, now)
        deliver_due(now)
        reconcile.reconcile(now)

    # The outbox gave up on the first resolved messages (the outage outlasted their retries)...
    assert Notification.objects.filter(
        event=NotificationEvent.RESOLVED, status=NotificationStatus.FAILED
    ).exists()
    # ...and the reconciler told PagerDuty once it was back: one incident each, resolved.
    for incident in (first, second):
        key = f"confops-incident-{incident.pk}"
        [remote] = fake_pagerduty.incidents_of(key)
        assert remote.state == "resolved"
        assert remote.triggers == 1
        actions = [e["event_action"] for e in fake_pagerduty.events if e["dedup_key"] == key]
        assert actions[-1] == "resolve" and "trigger" not in actions[actions.index("resolve") :]
        mirror = IncidentMirror.objects.get(channel=chan, incident=incident)
        assert mirror.remote_state == "resolved"
    assert not Notification.objects.filter(
        status__in=(NotificationStatus.PENDING, NotificationStatus.SENDING)
    ).exists()
    assert reconcile.reconcile(now + timedelta(hours=1)) == 0


def test_the_reconciler_writes_nothing_while_a_row_is_in_flight_or_after_a_refusal(
    fake_pagerduty: FakePagerDuty, paged: tuple[Channel, Incident, str], operator_user: Any
) -> None:
    chan, incident, _ = paged
    fake_pagerduty.go_down("503")
    operations.resolve_incident(incident, operator_user, T0 + timedelta(minutes=1))
    assert deliver_due(T0 + timedelta(minutes=2)) == ["retry"]

    assert reconcile.reconcile(T0 + timedelta(hours=1)) == 0  # the resolved row still retries

    Channel.objects.filter(pk=chan.pk).update(secret="revoked-key")
    fake_pagerduty.come_back()
    assert deliver_due(T0 + timedelta(hours=1)) == ["failed"]  # 400: refused for good
    assert reconcile.reconcile(T0 + timedelta(hours=2)) == 0
    assert fake_pagerduty.incidents[0].state == "triggered"


def test_seen_requests_are_forgotten_only_once_they_cannot_come_again() -> None:
    """PagerDuty redeliveries are remembered a week, acknowledge links until they expire, Slack
    requests ten minutes; each provider's old rows go when a new one of it arrives."""
    old = T0 - timedelta(days=8)
    for provider in ("pagerduty", "ack-link", "slack"):
        InboundRequest.objects.create(digest=f"{provider}-old", provider=provider, received_at=old)
        InboundRequest.objects.create(
            digest=f"{provider}-recent", provider=provider, received_at=T0 - timedelta(hours=2)
        )
    assert InboundRequest.first_time("pagerduty", "pd-new", T0)
    assert InboundRequest.first_time("ack-link", "link-new", T0)
    assert InboundRequest.first_time("slack", "slack-new", T0)
    kept = set(InboundRequest.objects.values_list("digest", flat=True))
    assert kept == {"pagerduty-recent", "ack-link-recent", "pd-new", "link-new", "slack-new"}
    assert not InboundRequest.first_time("pagerduty", "pagerduty-recent", T0)
