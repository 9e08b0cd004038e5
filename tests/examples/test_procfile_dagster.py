"""The demo's Dagster webserver starts with gunicorn's WEB_CONCURRENCY in the environment.

uvicorn, under dagster-webserver, reads WEB_CONCURRENCY too and, given more than one worker for
an application object, exits at once; the whole demo stopped when `.env.example`'s value reached
it (a shell that exports `.env`, a platform that sets it). The Procfile's command is run as the
supervisor runs it, with the value set, and must serve.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.confops.test_deploy_files import procfile
from tests.fixtures.dagster import DAGSTER_YAML, ManagedProcess, free_port

pytestmark = [pytest.mark.dagster, pytest.mark.slow]
PROJECT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120


def test_the_procfiles_dagster_webserver_serves_with_web_concurrency_set(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    port = free_port()
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        WEB_CONCURRENCY="2",
        DAGSTER_HOME=str(tmp_path),
        DAGSTER_WEBSERVER_HOST="127.0.0.1",
        DAGSTER_WEBSERVER_PORT=str(port),
        PYTHONPATH=str(PROJECT / "examples/confradar"),
        CONFRADAR_SCHEDULES="off",
        CONFRADAR_DB=str(tmp_path / "confradar.sqlite3"),
        CONFRADAR_FAULTS_FILE=str(tmp_path / "faults.json"),
    )
    command = shlex.split(procfile()["dagster"])
    process = ManagedProcess.start(
        "dagster", command, env=env, cwd=PROJECT, log_path=tmp_path / "dagster.log"
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            code = process.proc.poll()
            assert code is None, f"dagster-webserver exited with {code}:\n{process.tail()}"
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.5)
                continue
            assert answer.status_code == 200
            assert "dagster_webserver_version" in answer.json()
            return
        pytest.fail(f"dagster-webserver not serving after {STARTUP_TIMEOUT_S}s:\n{process.tail()}")
    finally:
        process.stop()
