"""Control-plane rules against a real Dagster webserver and daemon of the ConfRadar example.

The module starts its OWN webserver and daemon (the session ones must keep running for other
tests): a QueuedRunCoordinator with ``max_concurrent_runs: 0`` keeps launched runs QUEUED, a
schedule is started and stopped over GraphQL, and the daemon is stopped last. Time is moved by
passing ``now`` forward to the poll and the engine, never by waiting; a second, tiny webserver
serves a code location that raises at import.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from alerts.choices import AlertState
from alerts.engine import evaluation
from alerts.models import Alert, AlertRule
from alerts.rules.deployment_unhealthy import DeploymentUnhealthy
from alerts.rules.instigator_stopped import InstigatorStopped
from alerts.rules.run_stuck import RunStuck
from monitoring import polling
from monitoring.models import Deployment, Instigator
from tests.fixtures.dagster import (
    DagsterDaemon,
    DagsterServer,
    ManagedProcess,
    WebhookRecorder,
    _venv_binary,
    free_port,
    start_dagster_daemon,
    start_dagster_webserver,
)

pytestmark = [pytest.mark.dagster, pytest.mark.django_db]
DEPLOYMENT_KINDS = [DeploymentUnhealthy.name, RunStuck.name, InstigatorStopped.name]

ZERO_CONCURRENCY_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 0
telemetry:
  enabled: false
"""

START_SCHEDULE = """
mutation Start($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { id status } }
    ... on PythonError { message }
  }
}
"""

STOP_SCHEDULE = """
mutation Stop($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { id status } }
    ... on PythonError { message }
  }
}
"""

BROKEN_DEFS = """\
import dagster as dg

raise ImportError("simulated broken deploy: missing module scrapy (token=s3cr3t-value)")
"""


@pytest.fixture(scope="module")
def control_plane(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DagsterServer, DagsterDaemon]]:
    home = tmp_path_factory.mktemp("dagster_home_control_plane")
    (home / "dagster.yaml").write_text(ZERO_CONCURRENCY_YAML, encoding="utf-8")
    server = start_dagster_webserver(home)
    webhook = WebhookRecorder().start()
    try:
        daemon = start_dagster_daemon(server, webhook)
        try:
            yield server, daemon
        finally:
            daemon.process.stop()
    finally:
        webhook.stop()
        server.session.close()
        server.process.stop()


@pytest.fixture(autouse=True)
def deployment_rules_only() -> None:
    """The default deployment rules, as migrate made them; source rules are other tests' job
    (the example's assets here are never run, and would go stale on their own clock)."""
    AlertRule.objects.exclude(kind__in=DEPLOYMENT_KINDS).update(enabled=False)
    assert AlertRule.objects.filter(enabled=True, kind=RunStuck.name).count() == 2


@pytest.fixture
def watched(control_plane: tuple[DagsterServer, DagsterDaemon]) -> Deployment:
    server, _ = control_plane
    return Deployment.objects.create(
        name="confradar", graphql_url=server.graphql_url, ui_url=server.base_url
    )


def poll(deployment: Deployment, now: datetime) -> None:
    assert polling.poll_deployment(deployment, now), deployment.last_error
    deployment.refresh_from_db()


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(rule__kind=kind, state__in=(AlertState.FIRING,)))


def test_runs_queued_under_a_zero_concurrency_limit_raise_one_deployment_alert(
    control_plane: tuple[DagsterServer, DagsterDaemon], watched: Deployment
) -> None:
    server, _ = control_plane
    run_ids = [server.launch_run("crawl_job") for _ in range(2)]
    assert {server.get_run(r)["status"] for r in run_ids} == {"QUEUED"}
    now = timezone.now()
    poll(watched, now)
    evaluation.evaluate(now + timedelta(minutes=14))
    assert open_alerts(RunStuck.name) == []
    evaluation.evaluate(now + timedelta(minutes=16))
    [alert] = open_alerts(RunStuck.name)
    assert alert.deployment_id == watched.pk
    assert {r["run_id"] for r in alert.details["runs"]} == set(run_ids)
    assert "2 runs QUEUED" in alert.summary


def test_a_schedule_stopped_over_graphql_raises_one_deployment_alert(
    control_plane: tuple[DagsterServer, DagsterDaemon], watched: Deployment
) -> None:
    server, _ = control_plane
    selector = {
        "repositoryLocationName": server.location_name,
        "repositoryName": server.repository_name,
        "scheduleName": "daily_crawl_schedule",
    }
    started = server.data(START_SCHEDULE, {"selector": selector})["startSchedule"]
    state = started["scheduleState"]
    assert state["status"] == "RUNNING", started
    now = timezone.now()
    poll(watched, now)
    schedule = Instigator.objects.get(deployment=watched, name="daily_crawl_schedule")
    assert (schedule.status, schedule.stopped_at) == ("RUNNING", None)

    stopped = server.data(STOP_SCHEDULE, {"id": state["id"]})["stopRunningSchedule"]
    assert stopped["scheduleState"]["status"] == "STOPPED", stopped
    later = now + timedelta(minutes=1)  # the ticks (and statuses) are read every half minute
    poll(watched, later)
    schedule.refresh_from_db()
    assert (schedule.status, schedule.stopped_at) == ("STOPPED", later)
    evaluation.evaluate(later)
    [alert] = open_alerts(InstigatorStopped.name)
    assert alert.summary == "confradar: schedule daily_crawl_schedule stopped (was running)"


def test_a_stopped_daemon_raises_one_deployment_alert_within_minutes(
    control_plane: tuple[DagsterServer, DagsterDaemon], watched: Deployment
) -> None:
    _, daemon = control_plane
    now = timezone.now()
    poll(watched, now)
    evaluation.evaluate(now)
    assert open_alerts(DeploymentUnhealthy.name) == []
    daemon.process.stop()
    # Dagster's own flag still says healthy (30-minute tolerance); confops judges the beats.
    later = now + timedelta(minutes=4)
    poll(watched, later)
    assert watched.daemon_health["SCHEDULER"]["healthy"] is True
    evaluation.evaluate(later)
    [alert] = open_alerts(DeploymentUnhealthy.name)
    assert alert.deployment_id == watched.pk
    down = set(alert.details["unhealthy_daemons"])
    assert {"SCHEDULER", "SENSOR", "BACKFILL", "QUEUED_RUN_COORDINATOR"} <= down


@pytest.fixture
def broken_location(tmp_path: Path) -> Iterator[str]:
    """A dagster-webserver serving one code location that raises at import."""
    defs = tmp_path / "broken_defs.py"
    defs.write_text(BROKEN_DEFS, encoding="utf-8")
    port = free_port()
    binary = _venv_binary("dagster-webserver")
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    process = ManagedProcess.start(
        "dagster-webserver-broken",
        [str(binary), "-h", "127.0.0.1", "-p", str(port), "-f", str(defs)],
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        cwd=tmp_path,
        log_path=tmp_path / "webserver.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, process.tail()
            time.sleep(0.25)
        yield f"{url}/graphql"
    finally:
        process.stop()


def test_a_code_location_that_fails_to_load_raises_one_deployment_alert(
    broken_location: str,
) -> None:
    # The deployment's token, quoted by the failing module, never reaches the alert.
    deployment = Deployment.objects.create(
        name="broken",
        graphql_url=broken_location,
        auth_header_name="Authorization",
        auth_header_value="Bearer s3cr3t-value",
    )
    now = timezone.now()
    poll(deployment, now)
    assert list(deployment.code_location_errors) == ["broken_defs.py"]
    evaluation.evaluate(now)
    [alert] = open_alerts(DeploymentUnhealthy.name)
    assert alert.deployment_id == deployment.pk
    assert "code location broken_defs.py failed to load" in alert.summary
    assert "simulated broken deploy" in alert.details["code_location_errors"]["broken_defs.py"]
    assert "s3cr3t-value" not in alert.summary + json.dumps(alert.details)
