"""The task ledger that benchmarks/soak.py counts lost tasks with
(confops/runtime/task_ledger.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from confops.celery import app
from confops.runtime import task_ledger


def test_a_published_task_is_in_the_ledger_and_nothing_is_written_when_off(
    tmp_path: Path, settings: Any
) -> None:
    settings.TASK_LEDGER_DIR = ""
    app.send_task("confops.heartbeat")
    assert list(tmp_path.iterdir()) == []

    settings.TASK_LEDGER_DIR = str(tmp_path)
    sent = app.send_task("confops.heartbeat")
    task_ledger.record(task_ledger.RAN, sent.id, "confops.heartbeat")
    seen = task_ledger.read(tmp_path)
    assert seen[task_ledger.PUBLISHED] == {sent.id: "confops.heartbeat"}
    assert seen[task_ledger.RAN] == {sent.id: "confops.heartbeat"}
    assert seen[task_ledger.RECEIVED] == {}
