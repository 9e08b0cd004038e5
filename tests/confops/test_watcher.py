"""Watching the watcher: the internal alert it opens and resolves, the dead man's switch, and real
worker and beat processes where beat is stopped. The pure judgement of stalls is the kind's
(tests/alerts/rules/test_confops_stalled.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from alerts.choices import AlertState, ChannelKind, NotificationEvent
from alerts.models import Alert, AlertRule, Notification
from alerts.rules.confops_stalled import KIND
from confops.celery import app
from confops.runtime import deadman, heartbeat, watchdog
from confops.tasks import ping_after_good_cycle
from monitoring.models import Deployment
from tests.alerts import factories
from tests.fixtures.http import HttpResponder
from tests.fixtures.processes import CeleryProcesses, wait_until

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


# --- The internal alert -----------------------------------------------------------------------


def fresh_heartbeats(now: datetime) -> None:
    heartbeat.record_beat(now.timestamp())
    heartbeat.record_worker("w1@host", now.timestamp())


@pytest.mark.django_db
def test_the_system_rule_exists_after_migrate_and_is_about_confops() -> None:
    rule = AlertRule.objects.get(kind=KIND)
    assert rule.is_default and rule.enabled and rule.severity == "critical"
    assert rule.target == "confops"


@pytest.mark.django_db
def test_a_missing_heartbeat_gets_the_full_threshold_before_it_counts() -> None:
    """A fresh install or a flushed cache: no heartbeat yet is not a dead beat yet."""
    now = timezone.now()
    assert watchdog.check(now).stalls == []
    later = watchdog.check(now + timedelta(seconds=91)).stalls
    assert {s.component for s in later} == {"beat", "workers"}


@pytest.mark.django_db(transaction=True)
def test_a_stalled_beat_opens_one_alert_that_is_notified_and_resolves_on_recovery(
    django_capture_on_commit_callbacks: Any,
) -> None:
    slack = factories.channel()
    AlertRule.objects.get(kind=KIND).channels.add(slack)
    now = timezone.now()
    fresh_heartbeats(now - timedelta(seconds=600))
    heartbeat.record_worker("w1@host", now.timestamp())
    with django_capture_on_commit_callbacks(execute=False):
        first = watchdog.check(now)
        second = watchdog.check(now + timedelta(seconds=30))
    assert [s.component for s in first.stalls] == ["beat"] and first.fired == 1
    assert second.fired == 0
    alert = Alert.objects.get(rule__kind=KIND)
    assert alert.state == AlertState.FIRING and alert.subject == "confops"
    assert alert.source_id is None and alert.deployment_id is None
    assert "beat silent for 10 min" in alert.summary
    [firing] = Notification.objects.filter(channel=slack)
    assert firing.event == NotificationEvent.FIRING
    assert firing.payload["alerts"][0]["subject"] == "confops"

    recovered = now + timedelta(seconds=60)
    fresh_heartbeats(recovered)
    with django_capture_on_commit_callbacks(execute=False):
        assert watchdog.check(recovered).resolved == 1
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert Notification.objects.filter(event=NotificationEvent.RESOLVED).count() == 1


def beat_dead_since(start: datetime, now: datetime) -> None:
    """Beat's last heartbeat at ``start``; a worker alive at ``now`` (only beat is dead)."""
    heartbeat.record_beat(start.timestamp())
    heartbeat.record_worker("w1@host", now.timestamp())


@pytest.mark.django_db
def test_a_stalled_beat_is_reminded_and_escalated_by_the_watcher_alone(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Beat's pass (``evaluate_all``) never runs here: beat is the part that died."""
    slack, pager = factories.channel(), factories.channel("pager", ChannelKind.WEBHOOK)
    rule = AlertRule.objects.get(kind=KIND)
    rule.cooldown_minutes, rule.escalate_after_minutes = 10, 30
    rule.save()
    rule.channels.add(slack)
    rule.escalation_channels.add(pager)
    start = timezone.now() - timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=False):
        for minute in (5, 9, 15, 25, 35, 36):
            now = start + timedelta(minutes=minute)
            beat_dead_since(start, now)
            watchdog.check(now)
    fired_at = start + timedelta(minutes=5)
    to_slack = Notification.objects.filter(channel=slack).order_by("created_at")
    assert [(n.event, n.created_at - fired_at) for n in to_slack] == [
        (NotificationEvent.FIRING, timedelta(0)),
        # Reminders back off: the cooldown (10 min), then twice it.
        (NotificationEvent.REMINDER, timedelta(minutes=10)),
        (NotificationEvent.REMINDER, timedelta(minutes=30)),
    ]
    [escalation] = Notification.objects.filter(channel=pager)
    assert escalation.event == NotificationEvent.ESCALATION
    assert escalation.created_at == fired_at + timedelta(minutes=30)
    alert = Alert.objects.get(rule=rule)
    assert alert.reminders_sent == 2 and alert.escalated_at == escalation.created_at


@pytest.mark.django_db
def test_beat_s_pass_leaves_the_internal_alert_s_reminders_to_the_watcher(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Two writers of one reminder would send it twice."""
    from alerts.engine import policy

    slack = factories.channel()
    AlertRule.objects.get(kind=KIND).channels.add(slack)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        beat_dead_since(start - timedelta(minutes=5), start)
        watchdog.check(start)
        later = start + timedelta(hours=2)
        assert policy.send_reminders_and_escalations(later) == 0
        beat_dead_since(start - timedelta(minutes=5), later)
        assert watchdog.check(later).reminded == 2
    events = Notification.objects.exclude(event=NotificationEvent.FIRING).values_list("event")
    assert sorted(e for (e,) in events) == ["escalation", "reminder"]


@pytest.mark.django_db
def test_without_channels_of_its_own_the_internal_alert_reaches_every_enabled_channel(
    django_capture_on_commit_callbacks: Any, http_responder: HttpResponder, eager: None
) -> None:
    """Out of the box the default rule has no channels: someone must still be told."""
    slack = factories.channel("ops-slack", secret=f"{http_responder.url}/slack")
    hook = factories.channel(
        "ops-hook", ChannelKind.WEBHOOK, secret="", config={"url": f"{http_responder.url}/hook"}
    )
    factories.channel("old", enabled=False, secret=f"{http_responder.url}/old")
    rule = AlertRule.objects.get(kind=KIND)
    assert not rule.channels.exists() and not rule.escalation_channels.exists()
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        beat_dead_since(start - timedelta(minutes=5), start)
        watchdog.check(start)
    firing = Notification.objects.filter(event=NotificationEvent.FIRING)
    assert {n.channel for n in firing} == {slack, hook}
    assert {n.status for n in firing} == {"sent"}, [n.last_error for n in firing]
    assert sorted(r.path for r in http_responder.requests) == ["/hook", "/slack"]
    assert "beat silent for" in http_responder.requests[0].body.decode()

    escalated = start + timedelta(minutes=rule.escalate_after_minutes or 0)
    with django_capture_on_commit_callbacks(execute=False):
        beat_dead_since(start - timedelta(minutes=5), escalated)
        watchdog.check(escalated)
    escalations = Notification.objects.filter(event=NotificationEvent.ESCALATION)
    assert {n.channel for n in escalations} == {slack, hook}


@pytest.mark.django_db
def test_a_stuck_poller_opens_the_alert_naming_the_deployment() -> None:
    now = timezone.now()
    fresh_heartbeats(now)
    Deployment.objects.create(
        name="prod", graphql_url="http://prod/graphql", last_poll_at=now - timedelta(minutes=5)
    )
    Deployment.objects.create(
        name="paused",
        graphql_url="http://x/graphql",
        enabled=False,
        last_poll_at=now - timedelta(days=1),
    )
    watchdog.check(now)
    alert = Alert.objects.get(rule__kind=KIND, state=AlertState.FIRING)
    assert alert.summary == "confops stalled: prod not polled for 5 min"


@pytest.mark.django_db
def test_a_disabled_system_rule_opens_nothing() -> None:
    AlertRule.objects.filter(kind=KIND).update(enabled=False)
    now = timezone.now()
    fresh_heartbeats(now - timedelta(hours=1))
    assert [s.component for s in watchdog.check(now).stalls] == ["beat", "workers"]
    assert not Alert.objects.filter(rule__kind=KIND).exists()


@pytest.mark.django_db
def test_many_watchers_asking_at_once_run_one_check_per_interval(settings: Any) -> None:
    settings.WATCHER_CHECK_INTERVAL_SECONDS = 30
    now = timezone.now()
    outcomes = [watchdog.check_if_due(now) for _ in range(5)]
    assert [o.skipped for o in outcomes] == [False, True, True, True, True]


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_alert_about_confops() -> None:
    rule = AlertRule.objects.get(kind=KIND)
    fields = {"severity": "critical", "summary": "x", "state": AlertState.FIRING}
    now = timezone.now()
    Alert.objects.create(rule=rule, opened_at=now, condition_since=now, last_seen_at=now, **fields)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            rule=rule, opened_at=now, condition_since=now, last_seen_at=now, **fields
        )


@pytest.mark.django_db
def test_the_rule_engine_pass_leaves_the_confops_rule_to_the_watcher() -> None:
    from alerts.engine import evaluation

    factories.deployment("prod")
    result = evaluation.evaluate(timezone.now())
    assert not Alert.objects.filter(rule__kind=KIND).exists()
    assert result.fired == []


def test_the_worker_thread_refreshes_its_own_heartbeat_and_stops(
    transactional_db: None, settings: Any
) -> None:
    settings.WATCHER_CHECK_INTERVAL_SECONDS = 1
    thread = watchdog.start_thread("thread-test@host")
    try:
        wait_until(
            lambda: "thread-test@host" in heartbeat.read_workers(), timeout=10, what="heartbeat"
        )
    finally:
        watchdog.stop_threads()
    assert not thread.is_alive()
    assert "thread-test@host" not in heartbeat.read_workers()  # a clean exit leaves the list


# --- Health endpoints -------------------------------------------------------------------------


@pytest.mark.django_db
def test_readiness_warns_about_a_dead_beat_but_stays_ready(client: Client) -> None:
    now = timezone.now()
    fresh_heartbeats(now)
    heartbeat.record_beat(now.timestamp() - 600)
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert [w for w in body["warnings"] if w.startswith("beat silent for")], body


@pytest.mark.django_db
def test_details_report_the_watcher_and_each_worker_heartbeat(
    admin_client: Client, settings: Any
) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    now = timezone.now()
    fresh_heartbeats(now)
    heartbeat.record_beat(now.timestamp() - 600)
    body = admin_client.get("/health/detailed").json()
    assert body["status"] == "degraded"
    assert set(body["worker_heartbeats"]) == {"w1@host"}
    assert [s["component"] for s in body["watcher"]["stalls"]] == ["beat"]
    alert = body["watcher"]["alert"]
    assert alert["state"] == "firing" and "beat silent" in alert["summary"]


# --- Dead man's switch ------------------------------------------------------------------------


def test_a_ping_is_due_once_per_interval() -> None:
    assert deadman.ping_due(None, NOW, 60)
    assert not deadman.ping_due(ago(59).timestamp(), NOW, 60)
    assert deadman.ping_due(ago(60).timestamp(), NOW, 60)


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run inline: the ping task is queued by evaluate_all and sent in the same test."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.mark.django_db
def test_a_good_evaluation_cycle_pings_the_switch_at_most_once_per_interval(
    http_responder: HttpResponder, settings: Any, eager: None
) -> None:
    from alerts.tasks import evaluate_all

    settings.DEAD_MANS_SWITCH_URL = f"{http_responder.url}/ping/abc"
    settings.DEAD_MANS_SWITCH_MIN_INTERVAL_SECONDS = 1
    evaluate_all()
    evaluate_all()
    # (The responder records GETs under "POST": it serves both with one handler.)
    assert [(r.path, r.body) for r in http_responder.requests] == [("/ping/abc", b"")]
    time.sleep(1.05)
    evaluate_all()
    assert len(http_responder.requests) == 2


@pytest.mark.django_db
def test_a_failing_evaluation_does_not_ping(
    http_responder: HttpResponder, settings: Any, eager: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mocked: no stored data makes evaluation raise (invalid rules are skipped by design), so
    the failure is injected where the task calls it."""
    from alerts.engine import evaluation
    from alerts.tasks import evaluate_all

    settings.DEAD_MANS_SWITCH_URL = f"{http_responder.url}/ping/abc"

    def broken(now: datetime, shard: object = None) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(evaluation, "evaluate_due", broken)
    with pytest.raises(RuntimeError):
        evaluate_all()
    assert http_responder.requests == []


@pytest.mark.django_db
def test_a_failed_ping_is_logged_and_retried_at_the_next_good_cycle(
    http_responder: HttpResponder, settings: Any, eager: None, caplog: pytest.LogCaptureFixture
) -> None:
    from alerts.tasks import evaluate_all

    settings.DEAD_MANS_SWITCH_URL = f"{http_responder.url}/ping/abc"
    http_responder.respond(500, "down")
    evaluate_all()  # the ping fails, evaluation does not
    evaluate_all()
    assert [r.path for r in http_responder.requests] == ["/ping/abc", "/ping/abc"]
    assert "dead man's switch ping failed" in caplog.text


@pytest.mark.django_db
def test_without_a_url_nothing_is_pinged(http_responder: HttpResponder, eager: None) -> None:
    from alerts.tasks import evaluate_all

    evaluate_all()
    assert ping_after_good_cycle(trigger="timer", now=timezone.now()) is False
    assert http_responder.requests == []


# --- Real processes ---------------------------------------------------------------------------


@pytest.mark.slow
def test_stopping_beat_is_reported_by_health_and_opens_the_internal_alert(
    celery_processes: CeleryProcesses, admin_client: Client, client: Client, settings: Any
) -> None:
    """Worker and beat run for real with a 3 s stale threshold; beat is stopped, and the
    worker's watcher thread (not beat, which is dead) opens the alert."""
    second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="confops: heartbeat").update(interval=second)
    fast = {"HEARTBEAT_STALE_SECONDS": "3", "WATCHER_CHECK_INTERVAL_SECONDS": "1"}
    celery_processes.env.update(fast)
    settings.HEARTBEAT_STALE_SECONDS = 3
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.6
    # Beat first: a worker whose watcher starts long before beat would rightly report it.
    beat = celery_processes.beat()
    try:
        wait_until(lambda: heartbeat.read(heartbeat.BEAT_KEY), timeout=90, what="beat")
        celery_processes.worker()
        wait_until(heartbeat.read_workers, timeout=90, what="a worker's own heartbeat")
        assert client.get("/health/ready").json()["warnings"] == []
        assert not Alert.objects.filter(rule__kind=KIND).exists()
        beat.stop()
        celery_processes.started.remove(beat)  # stopped once, not again at teardown
        wait_until(
            lambda: Alert.objects.filter(rule__kind=KIND, state=AlertState.FIRING).exists(),
            timeout=30,
            what="the internal alert",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None
    alert = Alert.objects.get(rule__kind=KIND, state=AlertState.FIRING)
    assert alert.summary.startswith("confops stalled: beat silent for")

    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert any(w.startswith("beat silent for") for w in ready.json()["warnings"])
    detailed = admin_client.get("/health/detailed")
    body = detailed.json()
    assert detailed.status_code == 503 and body["status"] == "degraded"
    assert body["checks"]["beat"]["ok"] is False
    assert "stale after 3 s" in body["checks"]["beat"]["error"]
    assert body["watcher"]["alert"]["id"] == alert.pk
    assert any(host.startswith("test-worker@") for host in body["worker_heartbeats"])


@pytest.mark.django_db
def test_the_internal_alert_shows_on_the_alert_pages_as_about_confops(
    admin_client: Client,
) -> None:
    now = timezone.now()
    fresh_heartbeats(now - timedelta(hours=1))
    watchdog.check(now)
    alert = Alert.objects.get(rule__kind=KIND)
    listing = admin_client.get("/alerts/")
    page = admin_client.get(f"/alerts/{alert.pk}/")
    assert listing.status_code == 200 and page.status_code == 200
    assert "confops stalled: beat silent for 1 h" in page.content.decode()
    assert "confops stalled" in listing.content.decode()


@pytest.mark.django_db
def test_the_system_rule_links_to_its_shipped_runbook() -> None:
    rule = AlertRule.objects.select_related("runbook").get(kind=KIND)
    assert rule.runbook is not None and rule.runbook.slug == "confops-stalled"
    assert "check_heartbeat beat" in rule.runbook.body
