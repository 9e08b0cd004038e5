"""The seam between an outbox row and the worker that sends it.

Rows are written by one door, ``Notification.enqueue`` (alerts/models.py); this module hands a
committed row to the delivery task. It names the task instead of importing ``alerts.tasks``:
the tasks module imports the engine and delivery, which write rows, so an import here would
tie them into a cycle. ``AlertsConfig.ready`` imports the tasks module, so the task is
registered in every process that can write a row (web, worker, beat, commands).
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

DELIVER_TASK = "alerts.deliver_notification"  # alerts/tasks.py registers the task by this name


def send_on_commit(notification_id: int, queue: str) -> None:
    """Delivery starts once the transaction that wrote the row commits (never before: a worker
    must not see a row that could still roll back)."""
    transaction.on_commit(lambda: dispatch(notification_id, queue))


def dispatch(notification_id: int, queue: str) -> None:
    """Hand the row to a delivery worker (the task ``DELIVER_TASK``) on ``queue``, its channel's
    transport family (``Notification.delivery_queue``): one task sends every kind, so the
    caller names the queue (confops/common/queues.py)."""
    current_app.tasks[DELIVER_TASK].apply_async((notification_id,), queue=queue)
