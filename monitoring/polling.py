"""Polling a Dagster deployment.

The foundation checks that the deployment answers and records the outcome on it; incremental
ingestion of runs, sources and checks grows here.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from monitoring.dagster.client import DagsterClient
from monitoring.dagster.errors import DagsterError
from monitoring.models import Deployment

logger = logging.getLogger(__name__)


def client_for(deployment: Deployment) -> DagsterClient:
    return DagsterClient(
        deployment.graphql_url,
        headers=deployment.request_headers(),
        timeout=settings.DAGSTER_REQUEST_TIMEOUT_SECONDS,
    )


def poll_deployment(deployment: Deployment, now: datetime) -> bool:
    """Poll once and record the result on the deployment; return whether it succeeded."""
    started = time.perf_counter()
    try:
        version = client_for(deployment).version()
    except DagsterError as exc:
        duration_ms = (time.perf_counter() - started) * 1000
        deployment.record_poll_failure(str(exc), now, duration_ms)
        logger.warning(
            "poll of deployment %s failed: %s",
            deployment.name,
            exc,
            extra={"deployment": deployment.pk},
        )
        return False
    duration_ms = (time.perf_counter() - started) * 1000
    deployment.record_poll_success(now, duration_ms, version)
    return True


def poll_lock_key(deployment_id: int) -> str:
    return f"confops:poll-lock:{deployment_id}"


def poll_with_lock(deployment_id: int, now: datetime) -> bool | None:
    """Poll unless another poll of the same deployment holds the lock; None when skipped.

    The lock expires on its own, so a worker that dies mid-poll cannot block polling for long.
    """
    key = poll_lock_key(deployment_id)
    if not cache.add(key, "locked", timeout=settings.CELERY_TASK_TIME_LIMIT):
        return None
    try:
        deployment = Deployment.objects.filter(pk=deployment_id, enabled=True).first()
        if deployment is None:
            return None
        return poll_deployment(deployment, now)
    finally:
        cache.delete(key)


def due_deployment_ids(now: datetime) -> list[int]:
    return [d.pk for d in Deployment.objects.filter(enabled=True) if d.is_due(now)]
