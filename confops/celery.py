"""The Celery app: configuration from Django settings (``CELERY_*``), tasks from every app."""

from __future__ import annotations

import os

from celery import Celery, signals

from confops.common.observability import flush_traces, init_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confops.settings")

app = Celery("confops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat's heartbeat and the task ledger work through signals: connected wherever the app loads.
import confops.runtime.heartbeat  # noqa: E402
import confops.runtime.task_ledger  # noqa: E402,F401


def is_prefork(pool_cls: str | type) -> bool:
    from celery.concurrency import get_implementation
    from celery.concurrency.prefork import TaskPool

    implementation = get_implementation(pool_cls)
    return isinstance(implementation, type) and issubclass(implementation, TaskPool)


@signals.worker_init.connect
def _trace_worker(sender: object = None, **_: object) -> None:
    """Solo and thread pools run tasks in this process; prefork children start their own
    exporter in ``worker_process_init`` (its thread would not survive the fork)."""
    if not is_prefork(getattr(sender, "pool_cls", "prefork")):
        init_tracing(web=False)


@signals.worker_process_init.connect
@signals.beat_init.connect
def _trace_process(**_: object) -> None:
    """A prefork child and beat each export their own spans."""
    init_tracing(web=False)


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _flush_traces(**_: object) -> None:
    flush_traces()


@signals.worker_ready.connect
def _start_watcher(sender: object = None, **_: object) -> None:
    """The watcher runs in every worker, so a dead beat is still noticed
    (confops/runtime/watchdog.py)."""
    # Lazy: this module loads with the confops package, before Django's apps (and the models
    # the watcher reads) exist; the signal fires long after.
    from confops.runtime import watchdog

    watchdog.start_thread(str(getattr(sender, "hostname", None) or "unknown"))


@signals.worker_shutdown.connect
def _stop_watcher(**_: object) -> None:
    # Lazy: as in _start_watcher.
    from confops.runtime import watchdog

    watchdog.stop_threads()
