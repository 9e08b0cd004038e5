"""Celery tasks of the alert engine: thin wrappers around evaluation, the policy and delivery."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from alerts.engine import deadlines, delivery, evaluation, policy, reconcile
from alerts.inbound import slack
from alerts.models import Notification
from alerts.notify.outbox import DELIVER_TASK
from alerts.signals import evaluated
from confops.accounts.passes import claim_beat_pass
from confops.common import queues

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="alerts.evaluate_all", ignore_result=True)
def evaluate_all(self: Task) -> dict[str, int]:
    """The timer: time alone (staleness, outages) is judged, split in shards that workers share.

    Once per beat interval however many beats send it (the claim). One task per deployment with
    due sources (``evaluate_shard``); the fleet shard (sources without a deployment, the
    deployments' own subjects), reminders and escalations run here, once per pass. Each shard's
    lock keeps it from overlapping a poll's evaluation or a pass that outlived its interval."""
    now = timezone.now()
    if not claim_beat_pass(self.request, now):
        logger.info("evaluation pass skipped: already claimed for this interval")
        return {}
    shards = deadlines.due_shards(now)
    for shard in shards:
        evaluate_shard.delay(shard.deployment_id)
    started = time.perf_counter()
    result = evaluation.evaluate_shard(now, deadlines.FLEET)
    if result is None:
        return {}
    seconds = time.perf_counter() - started
    reminders = policy.send_reminders_and_escalations(now)
    # Only reached when the cycle went well (the dead man's switch listens).
    evaluated.send(sender=evaluate_all, trigger="timer", seconds=seconds, now=now)
    return {**summary(result), "shards": len(shards), "reminders": reminders}


@shared_task(name="alerts.evaluate_shard", ignore_result=True)
def evaluate_shard(deployment_id: int | None) -> dict[str, int]:
    """One deployment's due sources, on whichever worker of the evaluate queue takes it."""
    result = evaluation.evaluate_shard(timezone.now(), deadlines.Shard(deployment_id))
    return {} if result is None else summary(result)


def summary(result: evaluation.EvaluationResult) -> dict[str, int]:
    return {
        "evaluated": result.evaluated,
        "sources": result.sources,
        "fired": len(result.fired),
        "resolved": len(result.resolved),
        "notifications": result.notifications,
    }


@shared_task(bind=True, name=DELIVER_TASK, ignore_result=True)
def deliver_notification(self: Task, notification_id: int) -> str:
    """Send one outbox row now, in this task: the only broker hop between row and message.

    A transient failure schedules the next attempt as a task with an ETA; the sweeper is the
    safety net if that task is lost.
    """
    worker = self.request.hostname or delivery.worker_name()
    outcome = delivery.deliver(notification_id, timezone.now(), worker=worker)
    if outcome.retry_at is not None:
        queue = delivery_queues([notification_id]).get(notification_id, queues.DEFAULT)
        deliver_notification.apply_async((notification_id,), eta=outcome.retry_at, queue=queue)
    return outcome.status


def delivery_queues(notification_ids: list[int]) -> dict[int, str]:
    """Each row's delivery queue (its channel's transport family), in one query."""
    rows = Notification.objects.select_related("channel").filter(pk__in=notification_ids)
    return {row.pk: row.delivery_queue() for row in rows}


@shared_task(bind=True, name="alerts.sweep_notifications", ignore_result=True)
def sweep_notifications(self: Task) -> int:
    """Re-queue rows whose time has come and rows whose worker died mid-send."""
    if not claim_beat_pass(self.request, timezone.now()):
        return 0
    notification_ids = delivery.sweep(timezone.now())
    by_id = delivery_queues(notification_ids)
    for notification_id in notification_ids:
        queue = by_id.get(notification_id, queues.DEFAULT)
        deliver_notification.apply_async((notification_id,), queue=queue)
    if notification_ids:
        logger.info("re-queued %d notifications", len(notification_ids))
    return len(notification_ids)


@shared_task(bind=True, name="alerts.reconcile_mirrors", ignore_result=True)
def reconcile_mirrors(self: Task) -> int:
    """Two-way channels still showing open what confops closed (or acknowledged): tell them."""
    if not claim_beat_pass(self.request, timezone.now()):
        return 0
    written = reconcile.reconcile(timezone.now())
    if written:
        logger.info("reconciled %d two-way channel threads", written)
    return written


@shared_task(name=slack.ACTION_TASK, ignore_result=True)
def handle_slack_action(channel_id: int, payload: dict[str, Any]) -> str:
    """A Slack button press the request URL verified and answered: act on it now."""
    outcome = slack.handle_action(channel_id, payload, timezone.now())
    logger.info("slack action on channel %s: %s", channel_id, outcome)
    return outcome
