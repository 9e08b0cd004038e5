"""Celery tasks of monitoring: thin wrappers around ``monitoring.polling``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

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


@shared_task(name="monitoring.prune_poll_records", ignore_result=True)
def prune_poll_records() -> int:
    return polling.prune_poll_records(timezone.now())
