"""Issue 16's "Done when" for the control plane, against RetailFeed's real webserver and daemon:
a stopped schedule, a stopped sensor, a broken code location, runs queued behind a zero
concurrency limit and a stopped daemon each raise ONE deployment alert, which holds back the
source alerts it explains (and, for a schedule or sensor, only those of its own targets).

The module starts its OWN instance (the session fixtures keep running for other modules): a
QueuedRunCoordinator with ``max_concurrent_runs: 0`` and its daemon, stopped by the last test.
Each test polls a fresh deployment; time moves by passing ``now`` forward to the poll and the
engine, never by waiting. Tests run in file order: the daemon is stopped last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.choices import OPEN_STATES
from alerts.engine import evaluation
from alerts.models import Alert, AlertRule
from alerts.rules.deployment_unhealthy import DeploymentUnhealthy
from alerts.rules.instigator_stopped import InstigatorStopped
from alerts.rules.missed_schedule import MissedSchedule
from alerts.rules.run_stuck import RunStuck
from alerts.rules.stale import Stale
from monitoring import polling
from monitoring.models import Deployment, Instigator
from tests.fixtures.dagster import ManagedProcess
from tests.fixtures.retailfeed import (
    RetailfeedServer,
    start_retailfeed_daemon,
    start_retailfeed_webserver,
)

pytestmark = [pytest.mark.dagster, pytest.mark.django_db]
DEPLOYMENT_KINDS = [DeploymentUnhealthy.name, RunStuck.name, InstigatorStopped.name]
EXPLAINED_KINDS = [Stale.name, MissedSchedule.name]
# Far enough for every never-materialised RetailFeed asset to be stale (the longest declared
# limit is the weekly summary's 8 days), so each test has source alerts to hold back.
LATER = timedelta(days=9)
SCHEDULE_TARGETS = {f"retail/{r}/{a}" for r in ("acme", "borealis") for a in ("products", "prices")}
SENSOR_TARGET = "retail/catalog/assortment"  # catalog_drop_sensor runs catalog_job
BREAK_MESSAGE = "simulated broken deploy: missing module retailfeed.vendors (token=s3cr3t-value)"

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
START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { id status } }
    ... on PythonError { message }
  }
}
"""
STOP_SENSOR = """
mutation Stop($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { id status } }
    ... on PythonError { message }
  }
}
"""
DELETE_RUN = """
mutation Delete($runId: String!) {
  deleteRun(runId: $runId) { __typename }
}
"""


@dataclass
class Instance:
    server: RetailfeedServer
    daemon: ManagedProcess


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    home: Path = tmp_path_factory.mktemp("retailfeed_control_plane")
    server = start_retailfeed_webserver(home, queued=True)
    try:
        daemon = start_retailfeed_daemon(
            server, frozenset({"SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR"})
        )
        try:
            yield Instance(server, daemon)
        finally:
            daemon.stop()
    finally:
        server.session.close()
        server.process.stop()


@pytest.fixture(autouse=True)
def control_plane_rules_only() -> None:
    """The default deployment rules and the source rules they explain, as migrate made them;
    the rest are other tests' job."""
    AlertRule.objects.exclude(kind__in=DEPLOYMENT_KINDS + EXPLAINED_KINDS).update(enabled=False)
    assert AlertRule.objects.filter(enabled=True, kind=RunStuck.name).count() == 2
    assert AlertRule.objects.filter(enabled=True, kind=Stale.name).exists()


@pytest.fixture
def watched(instance: Instance) -> Deployment:
    return Deployment.objects.create(
        name="retailfeed", graphql_url=instance.server.graphql_url, ui_url=instance.server.base_url
    )


def poll(deployment: Deployment, now: datetime) -> None:
    assert polling.poll_deployment(deployment, now), deployment.last_error
    deployment.refresh_from_db()


def deployment_alerts(deployment: Deployment) -> list[Alert]:
    return list(
        Alert.objects.filter(deployment=deployment, source__isnull=True, state__in=OPEN_STATES)
    )


def source_alerts(deployment: Deployment) -> dict[str, list[Alert]]:
    """Open stale and missed-schedule alerts by source key."""
    found: dict[str, list[Alert]] = {}
    for alert in Alert.objects.filter(
        source__deployment=deployment, state__in=OPEN_STATES, rule__kind__in=EXPLAINED_KINDS
    ).select_related("source"):
        found.setdefault(alert.source.key, []).append(alert)
    return found


def selector(server: RetailfeedServer, field: str, name: str) -> dict[str, str]:
    return {
        "repositoryLocationName": server.location_name,
        "repositoryName": server.repository_name,
        field: name,
    }


def test_a_stopped_schedule_and_sensor_raise_one_alert_holding_back_only_their_targets(
    instance: Instance, watched: Deployment
) -> None:
    server = instance.server
    schedule = server.data(
        START_SCHEDULE, {"selector": selector(server, "scheduleName", "daily_ingest_schedule")}
    )["startSchedule"]["scheduleState"]
    sensor = server.data(
        START_SENSOR, {"selector": selector(server, "sensorName", "catalog_drop_sensor")}
    )["startSensor"]["sensorState"]
    assert (schedule["status"], sensor["status"]) == ("RUNNING", "RUNNING")
    now = timezone.now()
    poll(watched, now)
    statuses = {i.name: i.status for i in Instigator.objects.filter(deployment=watched)}
    assert statuses["daily_ingest_schedule"] == statuses["catalog_drop_sensor"] == "RUNNING"
    try:
        stopped = server.data(STOP_SCHEDULE, {"id": schedule["id"]})["stopRunningSchedule"]
        assert stopped["scheduleState"]["status"] == "STOPPED", stopped
        stopped = server.data(STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]
        assert stopped["instigationState"]["status"] == "STOPPED", stopped
        poll(watched, now + timedelta(minutes=1))  # ticks and statuses: every half minute
        evaluation.evaluate(now + LATER)
    finally:
        server.data(STOP_SCHEDULE, {"id": schedule["id"]})  # idempotent: leave them stopped
        server.data(STOP_SENSOR, {"id": sensor["id"]})

    [alert] = deployment_alerts(watched)
    assert alert.rule.kind == InstigatorStopped.name
    assert alert.summary == (
        "retailfeed: sensor catalog_drop_sensor, schedule daily_ingest_schedule stopped"
        " (was running)"
    )
    held = source_alerts(watched)
    assert SCHEDULE_TARGETS | {SENSOR_TARGET} <= set(held)
    targets = {key for key in held if key.endswith(("/products", "/prices"))} | {SENSOR_TARGET}
    assert all(a.inhibited for key in targets for a in held[key])
    # The weekly summary and the supplier feed are no target of these: their staleness is
    # their own story, told.
    others = {key for key in held if key.startswith("retail/")} - targets
    assert others and not any(a.inhibited for key in others for a in held[key])


def test_a_code_location_that_fails_to_load_raises_one_alert_holding_back_its_sources(
    instance: Instance, watched: Deployment
) -> None:
    server = instance.server
    now = timezone.now()
    poll(watched, now)  # the sources, discovered while the location loads
    watched.auth_header_name, watched.auth_header_value = "Authorization", "Bearer s3cr3t-value"
    watched.save()
    server.set_faults({"location": {"fail": True, "message": BREAK_MESSAGE}})
    try:
        entry = server.reload_location()
        assert entry["locationOrLoadError"]["__typename"] == "PythonError", entry
        poll(watched, now + timedelta(minutes=1))
        evaluation.evaluate(now + LATER)
    finally:
        server.clear_faults()
        server.reload_location()

    assert list(watched.code_location_errors) == ["retailfeed"]
    [alert] = deployment_alerts(watched)
    assert alert.rule.kind == DeploymentUnhealthy.name
    assert "code location retailfeed failed to load" in alert.summary
    assert "simulated broken deploy" in alert.details["code_location_errors"]["retailfeed"]
    assert "s3cr3t-value" not in alert.summary + str(alert.details)
    held = source_alerts(watched)
    assert set(held) >= SCHEDULE_TARGETS
    assert all(a.inhibited for alerts in held.values() for a in alerts)


def test_runs_queued_under_a_zero_concurrency_limit_raise_one_alert(
    instance: Instance, watched: Deployment
) -> None:
    server = instance.server
    run_ids = [server.launch_run("catalog_job") for _ in range(2)]
    try:
        assert {server.get_run(r)["status"] for r in run_ids} == {"QUEUED"}
        now = timezone.now()
        poll(watched, now)
        evaluation.evaluate(now + timedelta(minutes=14))
        assert deployment_alerts(watched) == []
        evaluation.evaluate(now + LATER)
    finally:
        for run_id in run_ids:  # the next tests' deployments must not find them queued
            server.data(DELETE_RUN, {"runId": run_id})

    [alert] = deployment_alerts(watched)
    assert alert.rule.name == "Queued runs not starting"
    assert {r["run_id"] for r in alert.details["runs"]} == set(run_ids)
    assert "2 runs QUEUED" in alert.summary
    held = source_alerts(watched)
    assert set(held) >= SCHEDULE_TARGETS
    assert all(a.inhibited for alerts in held.values() for a in alerts)


def test_a_stopped_daemon_raises_one_alert_within_minutes(
    instance: Instance, watched: Deployment
) -> None:
    now = timezone.now()
    poll(watched, now)
    evaluation.evaluate(now)
    assert deployment_alerts(watched) == []
    instance.daemon.stop()
    # Dagster's own flag still says healthy (30-minute tolerance); confops judges the beats.
    later = now + timedelta(minutes=4)
    poll(watched, later)
    assert watched.daemon_health["SCHEDULER"]["healthy"] is True
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(watched.unhealthy_daemons)
    evaluation.evaluate(later)
    [alert] = deployment_alerts(watched)
    assert alert.rule.kind == DeploymentUnhealthy.name
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(
        alert.details["unhealthy_daemons"]
    )
    # Days later (the daemon still down, as the last poll saw it) its sources are stale, and
    # held back behind the one alert.
    evaluation.evaluate(later + LATER)
    assert deployment_alerts(watched) == [alert]
    held = source_alerts(watched)
    assert set(held) >= SCHEDULE_TARGETS
    assert all(a.inhibited for alerts in held.values() for a in alerts)
