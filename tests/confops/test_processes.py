"""The demo's supervisor (confops/runtime/processes.py): a dead process is restarted and the
restart is
visible in the log and on /health/detailed; a crash loop stops everything with the reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from confops.runtime import processes
from tests.conftest import project_env
from tests.fixtures.processes import wait_until

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
SLEEPER = f"{sys.executable} -c 'import time; print(\"up\", flush=True); time.sleep(600)'"
QUITTER = f"{sys.executable} -c 'print(\"cannot bind port 8000\", flush=True)'"


def supervise(tmp_path: Path, procfile: str) -> subprocess.Popen[str]:
    (tmp_path / "Procfile").write_text(procfile)
    return subprocess.Popen(
        [sys.executable, "-m", "confops.runtime.processes", str(tmp_path / "Procfile")],
        cwd=PROJECT,
        env=project_env(CONFOPS_DATA_DIR=str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def state(tmp_path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((tmp_path / processes.STATE_FILE).read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def test_a_killed_process_is_restarted_and_the_restart_is_told(tmp_path: Path) -> None:
    said_up = tmp_path / "one-said-up"
    # Killed only once it has printed: a kill before its first line leaves no last lines to tell.
    marking = (
        f'{sys.executable} -c \'import pathlib, sys, time; print("up", flush=True); '
        f"pathlib.Path(sys.argv[1]).touch(); time.sleep(600)' {said_up}"
    )
    supervisor = supervise(tmp_path, f"one: {marking}\ntwo: {SLEEPER}\n")
    try:
        wait_until(lambda: len(state(tmp_path).get("processes", {})) == 2, 30, "both started")
        wait_until(said_up.exists, 30, "the first line of 'one'")
        first = state(tmp_path)["processes"]["one"]["pid"]
        os.kill(first, signal.SIGKILL)
        wait_until(
            lambda: (
                state(tmp_path)["processes"]["one"]["restarts"] == 1
                and state(tmp_path)["processes"]["one"]["running"]
            ),
            30,
            "a restart",
        )
        after = state(tmp_path)["processes"]
        assert after["one"]["pid"] != first
        assert after["one"]["last_exit"]["signal"] == "SIGKILL"
        assert after["one"]["last_exit"]["last_lines"] == ["up"]
        assert after["two"]["restarts"] == 0 and after["two"]["running"]
        assert supervisor.poll() is None
    finally:
        supervisor.send_signal(signal.SIGINT)
        output, _ = supervisor.communicate(timeout=30)
    assert supervisor.returncode == 0
    assert "one died (signal SIGKILL); restarting in 1 s" in output
    assert "every process stopped" in output
    assert not any(p["running"] for p in state(tmp_path)["processes"].values())


def test_a_process_that_keeps_dying_stops_the_demo_with_its_reason(tmp_path: Path) -> None:
    supervisor = supervise(tmp_path, f"web: {QUITTER}\nworker: {SLEEPER}\n")
    output, _ = supervisor.communicate(timeout=120)
    assert supervisor.returncode == 1
    assert "giving up: web died 5 times within 120 s (last: status 0)" in output
    assert "cannot bind port 8000" in output.split("giving up:")[1]
    worker = state(tmp_path)["processes"]["worker"]
    assert not worker["running"]
    with pytest.raises(ProcessLookupError):
        os.kill(worker["pid"], 0)


def test_detailed_health_shows_restarts_and_a_process_down(
    admin_client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    assert "processes" not in admin_client.get("/health/detailed").json()["checks"]
    (tmp_path / processes.STATE_FILE).write_text(
        json.dumps(
            {
                "supervisor_pid": os.getpid(),
                "processes": {
                    "worker": {
                        "pid": 1,
                        "running": True,
                        "restarts": 2,
                        "last_exit": {
                            "code": 1,
                            "signal": "",
                            "at": "2026-01-01T00:00:00+00:00",
                            "last_lines": ["cannot connect to redis://:hunter2@cache:6379/0"],
                        },
                    },
                    "beat": {"pid": 2, "running": False, "restarts": 0, "last_exit": None},
                },
            }
        )
    )
    body = admin_client.get("/health/detailed").json()
    check = body["checks"]["processes"]
    assert check["ok"] is False and check["error"] == "not running: beat"
    assert check["info"]["restarts"] == {"worker": 2}
    assert body["status"] == "degraded"
    assert body["processes"]["processes"]["worker"]["restarts"] == 2
    assert body["processes"]["processes"]["worker"]["last_exit"]["code"] == 1
    assert "hunter2" not in json.dumps(body)
