"""Celery tasks of monitoring: thin wrappers around ``monitoring.polling``."""

from __future__ import annotations

from celery import Task, shared_task
from django.utils import timezone

from confops.accounts.passes import claim_beat_pass
from monitoring import polling


@shared_task(name="monitoring.poll_due_deployments", ignore_result=True)
def poll_due_deployments() -> list[int]:
    """Fan out: one poll task per deployment whose interval has come, so workers share them."""
    deployment_ids = polling.claim_due_deployments(timezone.now())
    for deployment_id in deployment_ids:
        poll_deployment.delay(deployment_id)
    return deployment_ids


@shared_task(name="monitoring.poll_deployment", ignore_result=True)
def poll_deployment(deployment_id: int) -> bool | None:
    return polling.poll_with_lock(deployment_id, timezone.now())


@shared_task(bind=True, name="monitoring.prune_poll_records", ignore_result=True)
def prune_poll_records(self: Task) -> int:
    now = timezone.now()
    return polling.prune_poll_records(now) if claim_beat_pass(self.request, now) else 0
