"""Celery task of the daily report: a thin wrapper around ``reports.sending``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from reports import sending

logger = logging.getLogger(__name__)


@shared_task(name="reports.send_daily_report", ignore_result=True)
def send_daily_report() -> str:
    """Beat's daily entry: regenerate yesterday's report (late runs count) and send it once."""
    now = timezone.now()
    day = sending.yesterday(now)
    sending.generate(day, now)
    outcome = sending.send(day, now, by="beat")
    logger.info("daily report for %s: %s (%d messages)", day, outcome.reason, outcome.notifications)
    return outcome.reason
