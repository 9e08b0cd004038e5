"""An optional ledger of every Celery task published, received and run, one file per process.

Set ``TASK_LEDGER_DIR`` and each process (web, worker, beat, commands) appends
``<event> <task id> <task name>`` lines to ``<dir>/<pid>.log``. ``benchmarks/soak.py`` reads them
to prove that no task was lost between a publisher and a worker; it is off (and costs one
settings lookup per task) otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import signals
from django.conf import settings

PUBLISHED, RECEIVED, RAN = "published", "received", "ran"


def record(event: str, task_id: str, name: str) -> None:
    folder = settings.TASK_LEDGER_DIR
    if not folder:
        return
    # One write of one short line to a file of this process alone: lines never interleave.
    with open(Path(folder) / f"{os.getpid()}.log", "a", encoding="utf-8") as ledger:
        ledger.write(f"{event} {task_id} {name}\n")


@signals.after_task_publish.connect
def _published(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    record(PUBLISHED, str((headers or {}).get("id")), str(sender))


@signals.task_received.connect
def _received(request: Any = None, **_: Any) -> None:
    record(RECEIVED, str(request.id), str(request.name))


@signals.task_postrun.connect
def _ran(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    record(RAN, str(task_id), str(getattr(task, "name", "")))


def read(folder: Path) -> dict[str, dict[str, str]]:
    """Every task id seen per event, with its name: ``{"published": {id: name}, ...}``."""
    seen: dict[str, dict[str, str]] = {PUBLISHED: {}, RECEIVED: {}, RAN: {}}
    for path in folder.glob("*.log"):
        for line in path.read_text(encoding="utf-8").splitlines():
            event, task_id, name = [*line.split(" ", 2), "", ""][:3]
            if event in seen:
                seen[event][task_id] = name
    return seen
