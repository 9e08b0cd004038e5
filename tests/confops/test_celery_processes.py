"""A real worker and beat run on this run's broker (the file-system one in the embedded pass,
Redis in the Redis pass): beat reads its schedule from the database, the worker runs the tasks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from confops.runtime import heartbeat
from monitoring.models import Deployment
from tests.fixtures.dagster import free_port
from tests.fixtures.processes import CeleryProcesses, wait_until

pytestmark = pytest.mark.slow


def every_second(task_name: str) -> None:
    """Retune a beat entry as an operator would in the admin."""
    second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=task_name).update(interval=second)


def test_worker_and_beat_process_scheduled_tasks(
    celery_processes: CeleryProcesses, admin_client: Client, settings: Any
) -> None:
    every_second("confops: heartbeat")
    dead_dagster = Deployment.objects.create(
        name="nowhere",
        graphql_url=f"http://127.0.0.1:{free_port()}/graphql",
        poll_interval_seconds=1,
    )
    worker = celery_processes.worker()
    celery_processes.beat()

    def heartbeats_and_a_poll() -> bool:
        dead_dagster.refresh_from_db()
        return bool(
            heartbeat.read(heartbeat.BEAT_KEY)
            and heartbeat.read(heartbeat.WORKER_TASK_KEY)
            and dead_dagster.consecutive_failures >= 1
        )

    try:
        wait_until(heartbeats_and_a_poll, timeout=90, what="heartbeats and a poll")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None

    assert "Dagster unreachable" in dead_dagster.last_error
    worker_beat = heartbeat.read(heartbeat.WORKER_TASK_KEY)
    assert worker_beat is not None and worker_beat["host"].startswith("test-worker@")

    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 3
    checks = admin_client.get("/health/detailed").json()["checks"]
    assert checks["beat"]["ok"] and checks["worker_heartbeat"]["ok"], checks
    assert checks["workers"]["ok"], checks
    assert any(h.startswith("test-worker@") for h in checks["workers"]["info"]["workers"])

    task_lines = [json.loads(line) for line in worker.log().splitlines() if '"task_id"' in line]
    assert any(line["logger"] == "monitoring.polling" for line in task_lines), worker.log()[-2000:]
