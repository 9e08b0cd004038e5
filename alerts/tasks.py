"""Celery tasks of the alert engine: thin wrappers around evaluation and the policy."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from alerts import evaluation, policy
from alerts.locks import evaluation_lock

logger = logging.getLogger(__name__)


@shared_task(name="alerts.evaluate_all", ignore_result=True)
def evaluate_all() -> dict[str, int]:
    """The timer: every rule on every source, so time alone (staleness, outages) is judged."""
    now = timezone.now()
    with evaluation_lock() as locked:
        if not locked:
            logger.warning("evaluation skipped: another evaluation holds the lock")
            return {}
        result = evaluation.evaluate(now)
        reminders = policy.send_reminders_and_escalations(now)
    return {
        "evaluated": result.evaluated,
        "fired": len(result.fired),
        "resolved": len(result.resolved),
        "notifications": result.notifications + reminders,
    }
