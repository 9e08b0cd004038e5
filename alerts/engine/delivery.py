"""Sending outbox rows: claim once, send, book the outcome; retry with backoff; sweep up.

The guarantee (docs/notifications.md):

- **Never before commit.** Rows are handed to a worker by ``transaction.on_commit``.
- **At most one send per claim.** ``Notification.claim`` is a compare-and-swap
  (PENDING and due -> SENDING); only the worker whose UPDATE changed the row sends. Two workers,
  a task delivered twice or a retried task cannot send one row twice while its claim holds.
- **At least once across crashes.** A worker can die between the send and the booking. Its
  row stays SENDING; the sweeper (every 10 s) hands rows claimed longer ago than
  ``NOTIFICATION_CLAIM_TIMEOUT_SECONDS`` to a new worker. Losing a page is worse than
  repeating one, so such a row may be sent twice; receivers can dedupe on the notification id
  (email header ``X-Confops-Notification``, webhook header ``X-Confops-Delivery``).
- **Bounded retries.** Timeouts, connection errors, 5xx and 429 are retried with exponential
  backoff and jitter (never sooner than ``Retry-After``), up to ``NOTIFICATION_MAX_ATTEMPTS``;
  permanent errors fail the row at once with the reason. Every attempt leaves a
  ``DeliveryAttempt`` row with its outcome and duration.
- **A failing channel is reported.** After ``FAILING_AFTER`` failed rows in a row, the other
  enabled channels get a "channel X is failing" message, at most every ``NOTICE_EVERY``.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.choices import ChannelKind, NotificationEvent, NotificationStatus
from alerts.engine import mirrors
from alerts.models import Channel, DeliveryAttempt, Notification
from alerts.notify import links, messages
from alerts.notify.transports import (
    ConfigError,
    DeliveryError,
    SendResult,
    Transport,
    transport_class,
)

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 600.0
# This many failed rows in a row (test messages aside) make a channel "failing".
FAILING_AFTER = 3
NOTICE_EVERY = timedelta(hours=6)
# Rows this fresh are left to the task their commit queued; the sweeper takes older ones.
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500

SENT, RETRY, FAILED, CANCELLED, SKIPPED, LOST = (
    "sent",
    "retry",
    "failed",
    "cancelled",
    "skipped",
    "lost",
)


@dataclass(frozen=True)
class Outcome:
    """What one call of :func:`deliver` did with a row."""

    notification_id: int
    status: str
    retry_at: datetime | None = None
    error: str = ""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def deliver(
    notification_id: int,
    now: datetime | None = None,
    *,
    rng: Callable[[], float] = random.random,
    retries: bool = True,
    worker: str = "",
) -> Outcome:
    """Send one outbox row if this call wins its claim; book the outcome either way.

    ``SKIPPED``: another worker has it, it was sent already, or it is not due yet.
    """
    now = now or timezone.now()
    if not Notification.claim(notification_id, now):
        return Outcome(notification_id, SKIPPED)
    notification = Notification.objects.select_related("channel").get(pk=notification_id)
    attempt = DeliveryAttempt.objects.create(
        notification=notification,
        number=notification.attempts,
        started_at=now,
        worker=worker or worker_name(),
    )
    channel = notification.channel
    if channel is not None and not channel.enabled and notification.event != "test":
        return cancel(notification, attempt, now, "channel disabled")
    started = time.monotonic()
    result, error = send(notification)
    elapsed = time.monotonic() - started
    finished = now + timedelta(seconds=elapsed)
    record_attempt(attempt, elapsed, result, error)
    if error is None:
        mirrors.remember(notification, result.thread if result else None, finished)
        return booked_sent(notification, now, finished)
    last_chance = not retries or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    if error.permanent or last_chance:
        return booked_failed(notification, now, finished, error)
    delay = backoff(notification.attempts, error.retry_after, rng)
    return booked_retry(notification, now, finished + timedelta(seconds=delay), error)


def send(notification: Notification) -> tuple[SendResult | None, DeliveryError | None]:
    """Render and send; every failure becomes a DeliveryError (permanent when retrying the
    same row cannot help: a broken template or channel configuration) whose reason is redacted
    with the channel's secrets: it is stored, shown to viewers, logged and sent to the other
    channels, and connection errors quote the URL (a Slack webhook's path is its secret)."""
    result, error = attempt_send(notification)
    if error is None:
        return result, None
    return None, DeliveryError(
        notification.redact(error.reason),
        permanent=error.permanent,
        status_code=error.status_code,
        retry_after=error.retry_after,
    )


def attempt_send(notification: Notification) -> tuple[SendResult | None, DeliveryError | None]:
    try:
        transport = transport_for(notification)
        message = messages.render(notification.event, notification.payload, notification.pk)
        message = mirrors.with_thread(notification, transport, message)
    except ConfigError as exc:
        return None, DeliveryError(f"channel misconfigured: {exc}", permanent=True)
    except Exception as exc:
        log_exception(notification, "could not be rendered", exc)
        return None, DeliveryError(f"could not render: {type(exc).__name__}: {exc}", permanent=True)
    try:
        return transport.send(message), None
    except DeliveryError as exc:
        return None, exc
    except Exception as exc:  # a transport bug or an odd library error: try again later
        log_exception(notification, "unexpected error while sending", exc)
        return None, DeliveryError(f"{type(exc).__name__}: {exc}")


def log_exception(notification: Notification, what: str, exc: Exception) -> None:
    """The traceback, redacted: an exception's message may quote the channel's URL."""
    trace = "".join(traceback.format_exception(exc))
    logger.error("notification %s %s: %s", notification.pk, what, notification.redact(trace))


def transport_for(notification: Notification) -> Transport:
    """The channel's transport; a message to one person (no channel) goes by email."""
    if notification.channel is not None:
        return notification.channel.transport()
    to = notification.payload.get("to")
    if not to:
        raise ConfigError({"to": "a message without a channel needs a recipient ('to')"})
    return transport_class(ChannelKind.EMAIL).from_channel({"to": [to]}, "")


def backoff(attempt: int, retry_after: float | None, rng: Callable[[], float]) -> float:
    """Seconds before the next attempt: exponential from 5 s, capped at 10 min, with jitter
    (half to full), so a receiver that came back is not hit by every retry at once; never less
    than the receiver's ``Retry-After``."""
    exponential = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return max(exponential * (0.5 + rng() / 2), retry_after or 0.0)


def record_attempt(
    attempt: DeliveryAttempt,
    elapsed: float,
    result: SendResult | None,
    error: DeliveryError | None,
) -> None:
    attempt.complete(
        ok=error is None,
        duration_ms=round(elapsed * 1000, 1),
        status_code=result.status_code if result else error.status_code if error else None,
        error=error.reason if error else "",
        permanent=bool(error and error.permanent),
    )


def booked_sent(notification: Notification, claimed_at: datetime, finished: datetime) -> Outcome:
    if not notification.finish(
        claimed_at, status=NotificationStatus.SENT, sent_at=finished, error=""
    ):
        return lost(notification)
    channel = notification.channel
    if channel is not None and channel.failing_since is not None:
        Channel.objects.filter(pk=channel.pk).update(failing_since=None)
        logger.info("channel %s recovered", channel.name)
    return Outcome(notification.pk, SENT)


def booked_failed(
    notification: Notification, claimed_at: datetime, finished: datetime, error: DeliveryError
) -> Outcome:
    reason = error.reason
    if not error.permanent and notification.attempts > 1:
        reason = f"gave up after {notification.attempts} attempts: {reason}"
    if not notification.finish(claimed_at, status=NotificationStatus.FAILED, error=reason):
        return lost(notification)
    logger.error("notification %s failed: %s", notification.pk, reason)
    if notification.channel is not None and notification.event != NotificationEvent.TEST:
        note_channel_failure(notification.channel, finished)
    return Outcome(notification.pk, FAILED, error=reason)


def booked_retry(
    notification: Notification, claimed_at: datetime, retry_at: datetime, error: DeliveryError
) -> Outcome:
    if not notification.finish(
        claimed_at,
        status=NotificationStatus.PENDING,
        send_after=retry_at,
        claimed_at=None,
        error=error.reason,
    ):
        return lost(notification)
    logger.warning(
        "notification %s: attempt %d failed (%s); next at %s",
        notification.pk,
        notification.attempts,
        error.reason,
        retry_at.isoformat(),
    )
    return Outcome(notification.pk, RETRY, retry_at=retry_at, error=error.reason)


def cancel(
    notification: Notification, attempt: DeliveryAttempt, claimed_at: datetime, reason: str
) -> Outcome:
    attempt.complete(ok=False, duration_ms=0.0, error=reason)
    notification.finish(claimed_at, status=NotificationStatus.CANCELLED, error=reason)
    return Outcome(notification.pk, CANCELLED, error=reason)


def lost(notification: Notification) -> Outcome:
    logger.warning(
        "notification %s: outcome not booked, its claim was handed to another worker meanwhile",
        notification.pk,
    )
    return Outcome(notification.pk, LOST)


def note_channel_failure(channel: Channel, now: datetime) -> None:
    """After FAILING_AFTER failed rows in a row, mark the channel failing and tell the others."""
    recent = list(
        Notification.objects.filter(
            channel=channel, status__in=[NotificationStatus.SENT, NotificationStatus.FAILED]
        )
        .exclude(event=NotificationEvent.TEST)
        .order_by("-claimed_at", "-pk")
        .values_list("status", "error")[:FAILING_AFTER]
    )
    if len(recent) < FAILING_AFTER or any(s != NotificationStatus.FAILED for s, _ in recent):
        return
    Channel.objects.filter(pk=channel.pk, failing_since__isnull=True).update(failing_since=now)
    channel.refresh_from_db(fields=["failing_since", "failure_notice_at"])
    last = channel.failure_notice_at
    if last is not None and now - last < NOTICE_EVERY:
        return
    # Compare-and-swap, so two workers failing at once send one notice.
    if Channel.objects.filter(pk=channel.pk, failure_notice_at=last).update(failure_notice_at=now):
        told = notify_channel_failing(channel, len(recent), recent[0][1], now)
        logger.error("channel %s is failing; told %d other channels", channel.name, told)


@transaction.atomic
def notify_channel_failing(channel: Channel, failures: int, last_error: str, now: datetime) -> int:
    """A message to every other enabled channel that is not failing itself."""
    payload = {
        "event": NotificationEvent.CHANNEL_FAILING,
        "severity": "warning",
        "channel": {
            "id": channel.pk,
            "name": channel.name,
            "kind": channel.kind,
            "url": links.channel_admin_url(channel.pk),
        },
        "failures": failures,
        "last_error": last_error,
        "at": now.isoformat(),
    }
    others = Channel.objects.filter(enabled=True, failing_since__isnull=True).exclude(pk=channel.pk)
    for other in others:
        Notification.enqueue(other, NotificationEvent.CHANNEL_FAILING, payload, now)
    return len(others)


def sweep(now: datetime) -> list[int]:
    """Rows to hand to workers again: PENDING rows whose time has come (a retry whose task was
    lost, a broker outage) and SENDING rows whose claim outlived the timeout (dead worker)."""
    stale_before = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS)
    released = [
        row.pk
        for row in Notification.objects.filter(
            status=NotificationStatus.SENDING, claimed_at__lt=stale_before
        ).order_by("claimed_at")[:SWEEP_BATCH]
        if release(row, now)
    ]
    due = Notification.objects.filter(
        status=NotificationStatus.PENDING, send_after__lte=now - SWEEP_GRACE
    ).order_by("send_after")
    return released + list(due.values_list("pk", flat=True)[:SWEEP_BATCH])


def release(row: Notification, now: datetime) -> bool:
    """Hand a row whose worker vanished mid-send back to the outbox (True), or fail it when its
    attempts are spent (False); the attempt left without an outcome is closed as abandoned."""
    assert row.claimed_at is not None
    DeliveryAttempt.objects.filter(notification=row, ok__isnull=True).update(
        ok=False, error="abandoned: no outcome within the claim timeout (worker died or hung)"
    )
    if row.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        reason = f"gave up after {row.attempts} attempts: the last worker vanished mid-send"
        row.finish(row.claimed_at, status=NotificationStatus.FAILED, error=reason)
        return False
    logger.warning("notification %s: worker lost mid-send, sending again", row.pk)
    return row.finish(
        row.claimed_at,
        status=NotificationStatus.PENDING,
        send_after=now,
        claimed_at=None,
        error="worker lost mid-send; sending again",
    )


def send_test(channel: Channel, now: datetime, requested_by: str = "") -> Outcome:
    """Send a test message to a channel now, through the outbox, without retries."""
    notification = Notification.enqueue(
        channel, NotificationEvent.TEST, test_payload(channel, requested_by), now, send=False
    )
    return deliver(notification.pk, now, retries=False)


def test_payload(channel: Channel, requested_by: str) -> dict[str, Any]:
    return {
        "event": NotificationEvent.TEST,
        "severity": "info",
        "channel": {"id": channel.pk, "name": channel.name, "kind": channel.kind},
        "requested_by": requested_by,
    }
