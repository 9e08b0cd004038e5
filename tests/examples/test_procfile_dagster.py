"""The demo's Dagster webserver starts with gunicorn's WEB_CONCURRENCY in the environment.

uvicorn, under dagster-webserver, reads WEB_CONCURRENCY too and, given more than one worker for
an application object, exits at once; the whole demo stopped when `.env.example`'s value reached
it (a shell that exports `.env`, a platform that sets it). The Procfile's command is run as the
supervisor runs it, with the value set, and must serve.

The same command serves both examples as code locations of one instance (examples/workspace.yaml),
and confops, given that one deployment as the demo registers it, discovers both examples' sources.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from monitoring import polling
from monitoring.management.commands.demo_bootstrap import DEPLOYMENT_NAME
from monitoring.models import Deployment, Instigator, Source
from tests.confops.test_deploy_files import procfile
from tests.fixtures.dagster import DAGSTER_YAML, WORKSPACE_QUERY, ManagedProcess, free_port

pytestmark = [pytest.mark.dagster, pytest.mark.slow]
PROJECT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120
EXAMPLES = {"confradar", "retailfeed"}


def loaded_locations(base_url: str) -> dict[str, str]:
    """Each code location's load state: "LOADED", or the load error's message."""
    answer = requests.post(f"{base_url}/graphql", json={"query": WORKSPACE_QUERY}, timeout=10)
    entries = answer.json()["data"]["workspaceOrError"].get("locationEntries") or []
    states = {}
    for entry in entries:
        loaded = entry.get("locationOrLoadError") or {}
        states[entry["name"]] = loaded.get("message") or entry["loadStatus"]
    return states


def wait_for_both_examples(base_url: str, process: ManagedProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        assert process.proc.poll() is None, process.tail()
        states = loaded_locations(base_url)
        if set(states) >= EXAMPLES and all(states[name] == "LOADED" for name in EXAMPLES):
            return
        assert not any(states.get(n, "LOADING") not in ("LOADING", "LOADED") for n in EXAMPLES), (
            states
        )
        time.sleep(0.5)
    pytest.fail(f"code locations not loaded after {STARTUP_TIMEOUT_S}s: {states}")


def confops_discovers_both_examples(base_url: str) -> None:
    """Register the webserver as the demo does (one deployment) and poll it once."""
    deployment = Deployment.objects.create(
        name=DEPLOYMENT_NAME, graphql_url=f"{base_url}/graphql", ui_url=base_url
    )
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    keys = set(Source.objects.filter(deployment=deployment).values_list("key", flat=True))
    assert {"retail/acme/products", "retail/supplier/master_feed", "crawl_job"} <= keys
    assert any(key.endswith("elra_conferences") for key in keys), sorted(keys)
    sensors = set(Instigator.objects.filter(deployment=deployment).values_list("name", flat=True))
    assert {"demo_first_crawl_sensor", "demo_history_sensor", "catalog_drop_sensor"} <= sensors


@pytest.mark.django_db
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
        RETAILFEED_FAULTS_FILE=str(tmp_path / "retailfeed_faults.json"),
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
            wait_for_both_examples(f"http://127.0.0.1:{port}", process)
            confops_discovers_both_examples(f"http://127.0.0.1:{port}")
            return
        pytest.fail(f"dagster-webserver not serving after {STARTUP_TIMEOUT_S}s:\n{process.tail()}")
    finally:
        process.stop()
