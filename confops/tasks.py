"""Celery tasks of confops itself."""

from __future__ import annotations

import time

from celery import Task, shared_task

from confops import heartbeat


@shared_task(bind=True, name="confops.heartbeat", ignore_result=True)
def heartbeat_task(self: Task) -> None:
    """Proves the path beat -> broker -> worker works; scheduled by beat every interval."""
    heartbeat.record_worker_task(self.request.hostname or "unknown", time.time())
