"""Celery tasks of confops itself."""

from __future__ import annotations

import time
from datetime import datetime

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from alerts import retention
from confops.accounts.passes import claim_beat_pass
from confops.runtime import deadman, heartbeat


@shared_task(bind=True, name="confops.heartbeat", ignore_result=True)
def heartbeat_task(self: Task) -> None:
    """Proves the path beat -> broker -> worker works; scheduled by beat every interval."""
    heartbeat.record_worker_task(self.request.hostname or "unknown", time.time())


@shared_task(name="confops.ping_dead_mans_switch", ignore_result=True)
def ping_dead_mans_switch() -> bool:
    """Queued by a good evaluation cycle (``ping_after_good_cycle``)."""
    url = settings.DEAD_MANS_SWITCH_URL
    return bool(url) and deadman.ping(url)


def ping_after_good_cycle(trigger: str, now: datetime, **_: object) -> bool:
    """Receiver of ``alerts.signals.evaluated`` (connected in confops/apps.py): a good timer
    cycle tells an outside service that confops lives."""
    if trigger != "timer":
        return False
    return deadman.after_good_cycle(
        now, lambda expires: ping_dead_mans_switch.apply_async(expires=expires)
    )


@shared_task(bind=True, name="confops.prune_history", ignore_result=True)
def prune_history(self: Task) -> dict[str, int]:
    """Hourly: old history deleted in short batches within a time budget (docs/storage.md)."""
    now = timezone.now()
    if not claim_beat_pass(self.request, now):
        return {}
    report = retention.prune_history(now)
    return dict(report.deleted)
