"""The "re-run last week during an incident" move, replayed through ``manage.py replay`` with
the default rules: a success of an old partition leaves the newer partition's failure open; a
re-run of the failed partition resolves it (issue 16, partitions)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.django_db, pytest.mark.sandboxed_replay]


def run(at: str, partition: str, status: str, run_id: str) -> dict[str, Any]:
    line = {"type": "run", "at": at, "source": "orders", "status": status, "run_id": run_id}
    if status == "failure":
        line["error"] = "HTTP 502 from checkers"
    return {**line, "partition": partition, "duration_s": 60}


def replay(tmp_path: Path, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = io.StringIO()
    call_command("replay", str(path), "--json", stdout=out)
    alerts = json.loads(out.getvalue())["alerts"]
    return [a for a in alerts if a["kind"] == "run_failed"]


def test_re_running_last_week_during_an_incident_leaves_it_open(tmp_path: Path) -> None:
    days = [
        run(f"2026-12-0{d}T03:00:00Z", f"2026-12-0{d}", "success", f"r{d}") for d in range(1, 5)
    ]
    alerts = replay(
        tmp_path,
        [
            *days,
            run("2026-12-05T03:00:00Z", "2026-12-05", "failure", "r5"),
            run("2026-12-05T09:00:00Z", "2026-11-28", "success", "old"),
        ],
    )
    [failed] = alerts
    assert failed["resolved_at"] is None


def test_re_running_the_failed_partition_resolves_the_incident(tmp_path: Path) -> None:
    days = [
        run(f"2026-12-0{d}T03:00:00Z", f"2026-12-0{d}", "success", f"r{d}") for d in range(1, 5)
    ]
    alerts = replay(
        tmp_path,
        [
            *days,
            run("2026-12-05T03:00:00Z", "2026-12-05", "failure", "r5"),
            run("2026-12-05T09:00:00Z", "2026-11-28", "success", "old"),
            run("2026-12-05T10:00:00Z", "2026-12-05", "success", "again"),
        ],
    )
    [failed] = alerts
    assert failed["resolved_at"] is not None
