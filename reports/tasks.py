"""Celery task of the daily report: a thin wrapper around ``reports.sending``."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.utils import timezone

from confops.accounts.passes import claim_beat_pass
from reports import sending

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="reports.send_daily_report", ignore_result=True)
def send_daily_report(self: Task) -> str:
    """Beat's daily entry: regenerate yesterday's report (late runs count) and send it once.

    The report's own claim (``DailyReport.claim_send``) already sends it once per date; the
    pass claim also keeps a second beat from regenerating it at the same time."""
    now = timezone.now()
    if not claim_beat_pass(self.request, now):
        return "skipped: another beat's send claimed this pass"
    day = sending.yesterday(now)
    sending.generate(day, now)
    outcome = sending.send(day, now, by="beat")
    logger.info("daily report for %s: %s (%d messages)", day, outcome.reason, outcome.notifications)
    return outcome.reason
