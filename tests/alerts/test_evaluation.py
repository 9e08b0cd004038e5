"""The engine: one alert per incident, fired after its pending period, resolved after its hold,
held back by silences, outages and upstream causes, and the messages each change causes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from alerts import operations
from alerts.choices import AlertEventKind, AlertState, NotificationEvent, Severity
from alerts.engine import evaluation, policy
from alerts.models import Alert, Notification, Silence
from alerts.notify import messages
from tests.alerts import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    """Sources and rules are created at T0, not on the real clock: a source first seen before
    T0 with no success yet is rightly stale, so the engine's verdicts would follow the calendar."""
    with time_machine.travel(T0, tick=True):
        yield


def events(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(event=kind).order_by("pk"))


def test_a_failure_opens_one_alert_and_one_message_per_channel() -> None:
    dep = f.deployment()
    elra = f.source("elra_conferences", dep)
    slack, mail = f.channel("slack"), f.channel("mail", kind="email")
    f.rule("Run failed", "run_failed", [slack, mail])
    f.run(elra, T0, ok=False, error="HTTP 503 Service Unavailable from elra.info")
    evaluation.evaluate(T0 + f.minutes(1))
    evaluation.evaluate(T0 + f.minutes(2))
    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING and alert.source == elra
    assert "HTTP 503 Service Unavailable" in alert.summary
    assert {n.channel.name for n in events(NotificationEvent.FIRING)} == {"slack", "mail"}
    kinds = list(alert.events.values_list("kind", flat=True))
    assert kinds[:2] == [AlertEventKind.OPENED, AlertEventKind.FIRED]


def test_recovery_resolves_with_one_resolved_message() -> None:
    dep = f.deployment()
    elra = f.source("elra_conferences", dep)
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(elra, T0 + f.minutes(30), ok=True)
    evaluation.evaluate(T0 + f.minutes(31))
    evaluation.evaluate(T0 + f.minutes(32))
    alert = Alert.objects.get()
    assert alert.state == AlertState.RESOLVED and alert.resolved_at == T0 + f.minutes(31)
    [resolved] = events(NotificationEvent.RESOLVED)
    assert resolved.payload["alerts"][0]["duration_s"] == 30 * 60


def test_a_condition_that_returns_opens_a_new_alert() -> None:
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(elra, T0 + f.minutes(10))
    evaluation.evaluate(T0 + f.minutes(11))
    f.run(elra, T0 + f.minutes(20), ok=False)
    evaluation.evaluate(T0 + f.minutes(21))
    assert Alert.objects.filter(state=AlertState.RESOLVED).count() == 1
    assert Alert.objects.filter(state=AlertState.FIRING).count() == 1


def test_the_pending_period_delays_firing() -> None:
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()], pending_minutes=10)
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(5))
    assert Alert.objects.get().state == AlertState.PENDING and not events(NotificationEvent.FIRING)
    evaluation.evaluate(T0 + f.minutes(10))
    assert Alert.objects.get().state == AlertState.FIRING
    assert len(events(NotificationEvent.FIRING)) == 1


def test_a_pending_alert_that_clears_tells_nobody() -> None:
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()], pending_minutes=10)
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(elra, T0 + f.minutes(3))
    evaluation.evaluate(T0 + f.minutes(4))
    assert Alert.objects.get().state == AlertState.RESOLVED
    assert not Notification.objects.exists()


def test_the_resolve_hold_damps_flapping() -> None:
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()], resolve_hold_minutes=30)
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(elra, T0 + f.minutes(5))
    evaluation.evaluate(T0 + f.minutes(6))
    assert Alert.objects.get().state == AlertState.FIRING  # clear, but not for long enough
    f.run(elra, T0 + f.minutes(10), ok=False)
    evaluation.evaluate(T0 + f.minutes(11))
    f.run(elra, T0 + f.minutes(15))
    evaluation.evaluate(T0 + f.minutes(16))
    evaluation.evaluate(T0 + f.minutes(46))
    assert Alert.objects.count() == 1 and Alert.objects.get().state == AlertState.RESOLVED
    assert len(events(NotificationEvent.FIRING)) == 1
    # The failure came back while it recovered: one flapping message, then quiet.
    assert len(events(NotificationEvent.FLAPPING)) == 1
    assert len(events(NotificationEvent.RESOLVED)) == 1


def test_alerts_of_one_rule_in_one_pass_share_one_message() -> None:
    dep = f.deployment()
    sources = [f.source(k, dep) for k in ("elra_conferences", "acl_web_conferences")]
    f.rule("Run failed", "run_failed", [f.channel()])
    for src in sources:
        f.run(src, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    [message] = events(NotificationEvent.FIRING)
    assert sorted(message.payload["sources"]) == ["acl_web_conferences", "elra_conferences"]
    assert message.alerts.count() == 2


def test_evaluating_some_sources_leaves_the_others_alone() -> None:
    dep = f.deployment()
    elra, acl = f.source("elra_conferences", dep), f.source("acl_web_conferences", dep)
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(acl, T0 + f.minutes(2), ok=True)
    evaluation.evaluate(T0 + f.minutes(3), source_ids={acl.pk})
    assert Alert.objects.get(source=elra).state == AlertState.FIRING


def test_the_database_refuses_a_second_open_alert() -> None:
    elra = f.source("elra_conferences", f.deployment())
    rule = f.rule("Run failed", "run_failed")
    common = {
        "rule": rule,
        "source": elra,
        "severity": Severity.WARNING,
        "summary": "x",
        "opened_at": T0,
        "condition_since": T0,
        "last_seen_at": T0,
    }
    Alert.objects.create(state=AlertState.FIRING, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(state=AlertState.PENDING, **common)
    Alert.objects.create(state=AlertState.RESOLVED, **common)  # history is not limited


def test_reminders_back_off_until_acknowledged() -> None:
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()], cooldown_minutes=30)
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    for m in (20, 31, 45, 61, 90, 91, 150, 211, 300):
        policy.send_reminders_and_escalations(T0 + f.minutes(m))
    # 30 min after the page, then 60 and 120 after the previous reminder.
    reminded = [n.created_at for n in events(NotificationEvent.REMINDER)]
    assert reminded == [T0 + f.minutes(31), T0 + f.minutes(91), T0 + f.minutes(211)]
    alert = Alert.objects.get()
    operations.acknowledge(alert, None, "looking into it", T0 + f.minutes(212))
    policy.send_reminders_and_escalations(T0 + f.minutes(2000))
    assert len(events(NotificationEvent.REMINDER)) == 3
    assert alert.incident is not None
    alert.incident.refresh_from_db()
    assert alert.incident.state == "acknowledged"


def test_an_unacknowledged_critical_alert_escalates_once() -> None:
    elra = f.source("elra_conferences", f.deployment())
    pager = f.channel("pager", kind="webhook")
    rule = f.rule(
        "Run failed",
        "run_failed",
        [f.channel()],
        severity=Severity.CRITICAL,
        escalate_after_minutes=15,
    )
    rule.escalation_channels.set([pager])
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    policy.send_reminders_and_escalations(T0 + f.minutes(10))
    policy.send_reminders_and_escalations(T0 + f.minutes(16))
    policy.send_reminders_and_escalations(T0 + f.minutes(25))
    [escalation] = events(NotificationEvent.ESCALATION)
    assert escalation.channel == pager


def test_a_silenced_alert_is_recorded_but_not_sent_until_the_silence_ends() -> None:
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    silence = Silence.objects.create(
        source=elra,
        starts_at=T0 - f.minutes(1),
        ends_at=T0 + f.minutes(60),
        comment="site migration",
    )
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING and alert.silenced_by == silence
    assert not Notification.objects.exists()
    evaluation.evaluate(T0 + f.minutes(61))
    assert len(events(NotificationEvent.FIRING)) == 1


def test_source_alerts_wait_while_their_deployment_is_unreachable() -> None:
    dep = f.deployment(failing_since=T0 - f.minutes(5), consecutive_failures=3)
    elra = f.source("elra_conferences", dep)
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    assert Alert.objects.get().inhibited and not Notification.objects.exists()
    dep.failing_since, dep.consecutive_failures = None, 0
    dep.save()
    evaluation.evaluate(T0 + f.minutes(10))
    assert not Alert.objects.get().inhibited
    assert len(events(NotificationEvent.FIRING)) == 1


def test_a_downstream_consequence_is_folded_into_its_upstream_cause() -> None:
    dep = f.deployment()
    elra = f.source("elra_conferences", dep)
    store = f.source("store_conferences", dep, group_name="storage")
    store.upstream.add(elra)
    f.run(store, T0 - timedelta(hours=30))  # last success long ago: stale
    channel = f.channel()
    f.rule("Run failed", "run_failed", [channel])
    f.rule("Stale", "stale", [channel], parameters={"max_age_hours": 24, "grace_minutes": 30})
    f.run(elra, T0, ok=False, error="HTTP 503 from elra.info")
    evaluation.evaluate(T0 + f.minutes(1))
    failure = Alert.objects.get(source=elra)
    stale = Alert.objects.get(source=store)
    assert stale.folded_into == failure
    [message] = events(NotificationEvent.FIRING)
    assert message.payload["sources"] == ["elra_conferences"]
    assert message.payload["alerts"][0]["consequences"] == ["store_conferences"]


def recovered_upstream() -> tuple[Alert, Alert]:
    """elra failed at T0 (its "Run failed" holds 30 min after recovering) while store, downstream,
    was already stale; the stale alert is folded into the failure. Returns (failure, stale)."""
    dep = f.deployment()
    elra = f.source("elra_conferences", dep)
    store = f.source("store_conferences", dep, group_name="storage")
    store.upstream.add(elra)
    f.run(store, T0 - timedelta(hours=30))
    channel = f.channel()
    f.rule("Run failed", "run_failed", [channel], resolve_hold_minutes=30)
    f.rule("Stale", "stale", [channel], parameters={"max_age_hours": 24, "grace_minutes": 30})
    f.run(elra, T0, ok=False, error="HTTP 503 from elra.info")
    evaluation.evaluate(T0 + f.minutes(1))
    return Alert.objects.get(source=elra), Alert.objects.get(source=store)


def test_a_consequence_after_a_recovery_is_sent_not_folded_into_the_clearing_failure() -> None:
    elra = f.source("elra_conferences", f.deployment())
    channel = f.channel()
    f.rule("Run failed", "run_failed", [channel], resolve_hold_minutes=30)
    f.rule("Volume drop", "volume_drop", [channel], parameters={"percent": 30})
    for hour in range(5, 0, -1):
        f.run(elra, T0 - timedelta(hours=hour), metrics={"count": 100})
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(elra, T0 + f.minutes(60), metrics={"count": 100})
    evaluation.evaluate(T0 + f.minutes(61))  # recovered: "Run failed" starts its resolve hold
    f.run(elra, T0 + f.minutes(62), metrics={"count": 20})
    evaluation.evaluate(T0 + f.minutes(63))
    failure = Alert.objects.get(rule__name="Run failed")
    drop = Alert.objects.get(rule__name="Volume drop")
    assert failure.is_open and failure.clear_since == T0 + f.minutes(61)
    assert drop.state == AlertState.FIRING and drop.folded_into is None
    sent = [n.payload["rule"]["name"] for n in events(NotificationEvent.FIRING)]
    assert sent == ["Run failed", "Volume drop"]


def test_a_folded_consequence_still_holding_is_unfolded_and_sent_when_its_cause_clears() -> None:
    failure, stale = recovered_upstream()
    assert stale.folded_into == failure and len(events(NotificationEvent.FIRING)) == 1
    f.run(failure.source, T0 + f.minutes(10))  # elra recovers; store is still stale
    evaluation.evaluate(T0 + f.minutes(11))
    stale.refresh_from_db()
    assert stale.folded_into is None and stale.state == AlertState.FIRING
    [_, told] = events(NotificationEvent.FIRING)
    assert told.payload["sources"] == ["store_conferences"]


def test_a_consequence_clearing_with_its_cause_is_unfolded_quietly() -> None:
    failure, stale = recovered_upstream()
    stale.rule.resolve_hold_minutes = 30
    stale.rule.save()
    f.run(failure.source, T0 + f.minutes(10))
    f.run(stale.source, T0 + f.minutes(10))  # the same recovery clears both
    evaluation.evaluate(T0 + f.minutes(11))
    stale.refresh_from_db()
    assert stale.clear_since is not None and stale.folded_into is None
    assert len(events(NotificationEvent.FIRING)) == 1
    evaluation.evaluate(T0 + f.minutes(45))
    stale.refresh_from_db()
    assert stale.state == AlertState.RESOLVED
    assert [n.payload["sources"] for n in events(NotificationEvent.RESOLVED)] == [
        ["elra_conferences"]
    ]


def test_the_resolved_message_lasts_from_the_first_failure_to_the_recovery() -> None:
    """Not the alert's age: firing waited out a 10-minute pending period and closing a 30-minute
    resolve hold, yet the incident ran from the 02:00 failure to the recovery found at 03:01."""
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()], pending_minutes=10, resolve_hold_minutes=30)
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    evaluation.evaluate(T0 + f.minutes(10))  # fires
    f.run(elra, T0 + f.minutes(60), ok=True)
    evaluation.evaluate(T0 + f.minutes(61))  # recovered: the hold starts
    evaluation.evaluate(T0 + f.minutes(91))  # resolves
    [resolved] = events(NotificationEvent.RESOLVED)
    line = resolved.payload["alerts"][0]
    assert line["incident_s"] == 61 * 60 and line["duration_s"] == 81 * 60
    assert messages.render(resolved.event, resolved.payload).subject.endswith("after 1 h 1 min")
