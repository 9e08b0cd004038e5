"""Delivery of outbox rows: one send per claim, retries with backoff that honour Retry-After,
permanent errors failed at once, at-least-once across a worker that dies mid-send, the sweeper,
and a channel that keeps failing reported on the others. Receivers are real local servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from alerts.choices import NotificationEvent, NotificationStatus, Severity
from alerts.engine import delivery, policy
from alerts.models import AlertRule, Channel, DeliveryAttempt, Notification
from confops.common import queues
from tests.alerts import factories as f
from tests.fixtures.http import HttpResponder
from tests.fixtures.processes import child_env, wait_until

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def no_jitter() -> float:
    return 1.0


def webhook_channel(url: str, name: str = "hook", **fields: Any) -> Channel:
    return Channel.objects.create(
        name=name, kind="webhook", config={"url": url}, min_severity=Severity.INFO, **fields
    )


def outbox_row(channel: Channel | None, at: datetime = T0, source: str = "elra") -> Notification:
    """A firing row as the policy writes it (without its after-commit hand-off)."""
    AlertRule.objects.filter(is_default=True).delete()
    rule = AlertRule.objects.filter(name="Run failed").first() or f.rule("Run failed", "run_failed")
    alert = f.alert(rule, f.source(source, f.deployment(f"dep-{source}-{time.monotonic_ns()}")), at)
    row = Notification.objects.create(
        channel=channel,
        event=NotificationEvent.FIRING,
        rule=rule,
        payload=policy.payload("firing", rule, [alert], at),
        created_at=at,
        send_after=at,
    )
    row.alerts.set([alert])
    return row


def reload(row: Notification) -> Notification:
    return Notification.objects.get(pk=row.pk)


# --- one send per claim, retries, permanent errors --------------------------------------------


@pytest.mark.django_db
def test_500_then_200_delivers_exactly_once(http_responder: HttpResponder) -> None:
    http_responder.respond(500, "oops")
    http_responder.respond(200, "{}")
    row = outbox_row(webhook_channel(http_responder.url))

    first = delivery.deliver(row.pk, T0, rng=no_jitter)
    assert first.status == delivery.RETRY and first.retry_at is not None
    assert delivery.deliver(row.pk, T0 + timedelta(seconds=1)).status == delivery.SKIPPED  # not due
    assert delivery.deliver(row.pk, first.retry_at).status == delivery.SENT
    assert delivery.deliver(row.pk, first.retry_at).status == delivery.SKIPPED  # a retried task
    assert delivery.sweep(first.retry_at + timedelta(hours=1)) == []

    sent = reload(row)
    assert sent.status == NotificationStatus.SENT and sent.attempts == 2 and sent.error == ""
    assert len(http_responder.requests) == 2  # the 500 and the one delivery
    attempts = list(sent.delivery_attempts.values_list("number", "ok", "status_code"))
    assert attempts == [(1, False, 500), (2, True, 200)]
    assert all(a.duration_ms is not None for a in sent.delivery_attempts.all())


@pytest.mark.django_db
def test_retry_after_sets_the_earliest_next_attempt(http_responder: HttpResponder) -> None:
    http_responder.respond(429, "rate_limited", headers={"Retry-After": "30"})
    row = outbox_row(webhook_channel(http_responder.url))
    outcome = delivery.deliver(row.pk, T0, rng=no_jitter)
    assert outcome.retry_at is not None and outcome.retry_at >= T0 + timedelta(seconds=30)
    assert delivery.deliver(row.pk, T0 + timedelta(seconds=29)).status == delivery.SKIPPED
    assert reload(row).error == "the webhook answered HTTP 429: rate_limited"


@pytest.mark.django_db(transaction=True)
def test_a_429_with_retry_after_2_waits_at_least_2_seconds(
    http_responder: HttpResponder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real clock: a worker loop keeps trying; only Retry-After holds the second request back
    (the backoff is shrunk to 0.1 s so it cannot be what waits)."""
    monkeypatch.setattr(delivery, "BACKOFF_BASE_SECONDS", 0.1)
    http_responder.respond(429, "rate_limited", headers={"Retry-After": "2"})
    row = outbox_row(webhook_channel(http_responder.url), at=timezone.now())
    deadline = time.monotonic() + 10
    while delivery.deliver(row.pk).status != delivery.SENT:
        assert time.monotonic() < deadline, reload(row).error
        time.sleep(0.05)
    first, second = http_responder.requests
    assert second.received_at - first.received_at >= 2.0
    assert reload(row).attempts == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "body"), [(403, "invalid_token"), (404, "channel_not_found")])
def test_a_permanent_error_fails_at_once_with_the_reason(
    http_responder: HttpResponder, status: int, body: str
) -> None:
    http_responder.respond(status, body, content_type="text/plain")
    row = outbox_row(f.channel("slack", secret=f"{http_responder.url}/services/x"))
    outcome = delivery.deliver(row.pk, T0)
    assert outcome.status == delivery.FAILED and outcome.retry_at is None
    failed = reload(row)
    assert failed.status == NotificationStatus.FAILED and failed.attempts == 1
    assert failed.error == f"Slack answered HTTP {status}: {body}"
    assert failed.delivery_attempts.get().permanent is True
    assert delivery.sweep(T0 + timedelta(hours=1)) == []
    assert len(http_responder.requests) == 1


@pytest.mark.django_db
def test_attempts_are_bounded(http_responder: HttpResponder, settings: Any) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    http_responder.default.status = 503
    row = outbox_row(webhook_channel(http_responder.url))
    now, statuses = T0, []
    for _ in range(5):
        outcome = delivery.deliver(row.pk, now, rng=no_jitter)
        statuses.append(outcome.status)
        now = outcome.retry_at or now + timedelta(hours=1)
    assert statuses == ["retry", "retry", "failed", "skipped", "skipped"]
    failed = reload(row)
    assert failed.status == NotificationStatus.FAILED
    assert failed.error.startswith("gave up after 3 attempts: the webhook answered HTTP 503")
    assert len(http_responder.requests) == 3


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    low = [delivery.backoff(n, None, lambda: 0.0) for n in range(1, 9)]
    high = [delivery.backoff(n, None, lambda: 1.0) for n in range(1, 9)]
    assert high == [5, 10, 20, 40, 80, 160, 320, 600]
    assert low == [h / 2 for h in high]
    assert delivery.backoff(1, 42.0, lambda: 1.0) == 42.0


@pytest.mark.django_db
def test_a_disabled_channel_cancels_its_pending_rows(http_responder: HttpResponder) -> None:
    row = outbox_row(webhook_channel(http_responder.url, enabled=False))
    assert delivery.deliver(row.pk, T0).status == delivery.CANCELLED
    assert reload(row).status == NotificationStatus.CANCELLED and not http_responder.requests


@pytest.mark.django_db
def test_a_broken_channel_config_fails_with_the_reason() -> None:
    broken = Channel.objects.create(name="hook", kind="webhook", config={"url": "nope"})
    row = outbox_row(broken)
    assert delivery.deliver(row.pk, T0).status == delivery.FAILED
    assert reload(row).error == "channel misconfigured: url: must be an http:// or https:// URL"


# --- races and crashes: real threads and a real process on the same row ---------------------


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_row_deliver_it_once(http_responder: HttpResponder) -> None:
    http_responder.default.delay_s = 0.3  # the winner is mid-send while the others try
    row = outbox_row(webhook_channel(http_responder.url), at=timezone.now())
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(delivery.deliver(row.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["sent"] + ["skipped"] * 7
    assert len(http_responder.requests) == 1
    sent = reload(row)
    assert sent.status == NotificationStatus.SENT and sent.attempts == 1
    assert sent.delivery_attempts.count() == 1


@pytest.mark.slow  # a real worker process, on the real clock
@pytest.mark.django_db(transaction=True)
def test_a_row_whose_worker_died_mid_send_is_sent_again(http_responder: HttpResponder) -> None:
    """At least once: a worker is killed while its request is in flight; after the claim
    timeout the sweeper hands the row to another worker, and the message goes out again."""
    http_responder.respond(200, "{}", delay_s=30)  # the first receiver never answers in time
    row = outbox_row(webhook_channel(http_responder.url), at=timezone.now())
    code = (
        "import django; django.setup(); from alerts.engine.delivery import deliver; "
        f"deliver({row.pk}, worker='doomed-worker')"
    )
    child = subprocess.Popen([sys.executable, "-c", code], env=child_env(), start_new_session=True)
    try:
        wait_until(lambda: http_responder.requests, timeout=30, what="the doomed worker's send")
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)

    claimed = reload(row)
    assert claimed.status == NotificationStatus.SENDING and claimed.claimed_at is not None
    [in_flight] = claimed.delivery_attempts.all()
    assert in_flight.ok is None and in_flight.worker == "doomed-worker"

    timeout = timedelta(seconds=60)
    assert delivery.sweep(claimed.claimed_at + timeout - timedelta(seconds=1)) == []
    later = claimed.claimed_at + timeout + timedelta(seconds=1)
    assert delivery.sweep(later) == [row.pk]
    assert delivery.deliver(row.pk, later).status == delivery.SENT

    sent = reload(row)
    assert sent.status == NotificationStatus.SENT and sent.attempts == 2
    assert len(http_responder.requests) == 2  # repeated rather than lost
    abandoned, delivered = sent.delivery_attempts.all()
    assert abandoned.ok is False and abandoned.error.startswith("abandoned")
    assert delivered.ok is True


@pytest.mark.django_db
def test_a_stale_claim_cannot_book_over_its_successor(http_responder: HttpResponder) -> None:
    """A worker that was only slow, not dead, finds its claim taken over: it books nothing."""
    row = outbox_row(webhook_channel(http_responder.url))
    assert Notification.claim(row.pk, T0)
    later = T0 + timedelta(minutes=5)
    assert delivery.sweep(later) == [row.pk]
    assert Notification.claim(row.pk, later)
    slow = reload(row)
    assert not slow.finish(T0, status=NotificationStatus.FAILED)
    assert slow.finish(later, status=NotificationStatus.SENT)


@pytest.mark.django_db
def test_a_claim_older_than_the_budget_fails_the_row(settings: Any) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    row = outbox_row(None)
    assert Notification.claim(row.pk, T0)
    assert delivery.sweep(T0 + timedelta(minutes=5)) == []
    assert reload(row).status == NotificationStatus.FAILED
    assert "vanished mid-send" in reload(row).error


# --- the sweeper ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweeper_requeues_rows_whose_time_has_come() -> None:
    due = outbox_row(None, source="a")
    outbox_row(None, at=T0 + timedelta(seconds=58), source="b")  # fresh: its own task has it
    future = outbox_row(None, source="c")
    Notification.objects.filter(pk=future.pk).update(send_after=T0 + timedelta(hours=1))
    sent = outbox_row(None, source="d")
    Notification.objects.filter(pk=sent.pk).update(status=NotificationStatus.SENT)
    assert delivery.sweep(T0 + timedelta(minutes=1)) == [due.pk]


# --- a failing channel is reported on the others ----------------------------------------------


@pytest.mark.django_db
def test_a_channel_that_keeps_failing_is_reported_on_the_other_channels(
    http_responder: HttpResponder,
) -> None:
    http_responder.default.status = 404
    broken = webhook_channel(f"{http_responder.url}/gone", name="broken")
    mail = f.channel("mail", kind="email", config={"to": ["ops@example.com"]})
    f.channel("off", kind="email", config={"to": ["x@example.com"]}, enabled=False)

    def fail_one(at: datetime) -> None:
        assert delivery.deliver(outbox_row(broken, at, f"s{at.timestamp()}").pk, at).status == (
            "failed"
        )

    def notices() -> list[Notification]:
        return list(Notification.objects.filter(event=NotificationEvent.CHANNEL_FAILING))

    fail_one(T0)
    fail_one(T0 + timedelta(minutes=1))
    assert not notices() and Channel.objects.get(pk=broken.pk).failing_since is None
    fail_one(T0 + timedelta(minutes=2))
    [notice] = notices()
    assert notice.channel == mail
    assert notice.payload["channel"]["name"] == "broken" and notice.payload["failures"] == 3
    assert "HTTP 404" in notice.payload["last_error"]
    failing_since = Channel.objects.get(pk=broken.pk).failing_since
    assert failing_since is not None
    assert timedelta(0) <= failing_since - (T0 + timedelta(minutes=2)) < timedelta(seconds=5)

    fail_one(T0 + timedelta(hours=1))
    assert len(notices()) == 1  # rate-limited
    fail_one(T0 + timedelta(hours=7))
    assert len(notices()) == 2

    http_responder.default.status = 200
    assert delivery.deliver(outbox_row(broken, T0 + timedelta(hours=8)).pk, T0 + timedelta(hours=8))
    assert Channel.objects.get(pk=broken.pk).failing_since is None


@pytest.mark.django_db
def test_the_failing_notice_reads_well(http_responder: HttpResponder) -> None:
    from alerts.notify import messages

    http_responder.default.status = 404
    broken = webhook_channel(http_responder.url, name="broken")
    f.channel("mail", kind="email", config={"to": ["ops@example.com"]})
    for minute in range(3):
        at = T0 + timedelta(minutes=minute)
        delivery.deliver(outbox_row(broken, at, f"s{minute}").pk, at)
    notice = Notification.objects.get(event=NotificationEvent.CHANNEL_FAILING)
    message = messages.render(notice.event, notice.payload)
    assert message.subject == '[WARNING] confops channel "broken" is failing'
    assert "failed 3 messages in a row" in message.text
    assert "/admin/alerts/channel/" in message.text


# --- the hand-off: after commit, through the task -----------------------------------------------


@pytest.mark.django_db
def test_rows_are_handed_to_workers_only_after_commit(
    http_responder: HttpResponder,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker is replaced by a list here (a real worker takes the row in
    test_a_real_worker_sends_a_committed_row)."""
    from alerts import tasks

    queued: list[tuple[int, str]] = []
    monkeypatch.setattr(
        tasks.deliver_notification,
        "apply_async",
        lambda args, queue: queued.append((*args, queue)),
    )
    AlertRule.objects.all().delete()
    hook = webhook_channel(http_responder.url)
    rule = f.rule("Run failed", "run_failed", [hook])
    alert = f.alert(rule, f.source("elra", f.deployment()), T0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = f.notification(hook, "firing", [alert], T0)
        assert queued == []  # still inside the transaction
    # On the queue of its transport family, so a slow webhook delays no other kind.
    assert len(callbacks) == 1 and queued == [(row.pk, queues.DELIVER_WEBHOOK)]


@pytest.mark.django_db
def test_the_task_schedules_the_next_attempt(
    http_responder: HttpResponder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task is called in-process; its re-scheduling is captured instead of brokered."""
    from alerts import tasks

    scheduled: list[tuple[datetime, str]] = []
    monkeypatch.setattr(
        tasks.deliver_notification,
        "apply_async",
        lambda args, eta, queue: scheduled.append((eta, queue)),
    )
    http_responder.respond(503, "down")
    row = outbox_row(webhook_channel(http_responder.url), at=timezone.now())
    assert tasks.deliver_notification(row.pk) == "retry"
    assert scheduled == [(reload(row).send_after, queues.DELIVER_WEBHOOK)]
    assert tasks.deliver_notification(row.pk) == "skipped"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_a_committed_row(
    http_responder: HttpResponder, celery_processes: Any
) -> None:
    celery_processes.worker()
    AlertRule.objects.all().delete()
    hook = webhook_channel(f"{http_responder.url}/committed")
    rule = f.rule("Run failed", "run_failed", [hook])
    alert = f.alert(rule, f.source("elra", f.deployment()), timezone.now())
    from django.db import transaction

    with transaction.atomic():
        row = f.notification(hook, "firing", [alert], timezone.now())
    try:
        wait_until(lambda: reload(row).status == "sent", timeout=60, what="the worker's send")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None
    [request] = http_responder.requests
    assert request.path == "/committed" and request.json()["sources"] == ["elra"]
    assert DeliveryAttempt.objects.get(notification=row).worker.startswith("test-worker@")


# --- throughput: a storm goes out grouped ------------------------------------------------------


@pytest.mark.django_db
def test_a_storm_of_500_failures_goes_out_as_one_message_per_channel(
    http_responder: HttpResponder,
) -> None:
    from alerts.engine import evaluation

    AlertRule.objects.all().delete()
    hook = webhook_channel(f"{http_responder.url}/hook")
    slack = f.channel("slack", secret=f"{http_responder.url}/slack")
    f.rule("Run failed", "run_failed", [hook, slack])
    dep = f.deployment()
    for i in range(500):
        f.run(f.source(f"source_{i:03d}", dep), T0, ok=False)
    evaluation.evaluate(T0 + timedelta(minutes=1))

    rows = list(Notification.objects.filter(event=NotificationEvent.FIRING))
    assert len(rows) == 2
    for row in rows:
        assert delivery.deliver(row.pk, T0 + timedelta(minutes=1)).status == delivery.SENT
    by_path = {r.path: r.json() for r in http_responder.requests}
    assert len(by_path["/hook"]["alerts"]) == 500
    slack_text = json.dumps(by_path["/slack"])
    assert "and 480 more" in slack_text
    assert slack_text.count("/alerts/") == 21  # 20 listed, and one link to open them
