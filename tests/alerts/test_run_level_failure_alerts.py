"""The default "Run failed" rule over runs stored by the poll: a run that failed outside any
step raises it on every asset it planned (and on its job), with the run-level error; two failed
steps of one run raise it on their two assets, each with its own step's error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts.engine import evaluation
from alerts.models import Alert
from monitoring import sync
from monitoring.choices import SourceKind
from monitoring.dagster import parse
from monitoring.models import Deployment, Run, Source
from tests.monitoring.test_run_level_failure import (
    DEQUEUE,
    OUTSIDE,
    engine_event,
    error,
    payload,
    run_failure,
    step_failure,
)
from tests.monitoring.test_sync import asset, discovery

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    with time_machine.travel(T0, tick=True):
        yield


@pytest.fixture
def deployment() -> Deployment:
    deployment = Deployment.objects.create(name="retail", graphql_url="http://d/graphql")
    assets = [asset("checkers"), asset("picknpay"), asset("spar")]
    sync.apply_discovery(deployment, discovery(*assets), timezone.now())
    Source.objects.create(deployment=deployment, kind=SourceKind.JOB, key="crawl_job", slug="job")
    return deployment


def poll_failed_run(deployment: Deployment, data: dict[str, Any]) -> None:
    start = (T0 - timedelta(minutes=5)).timestamp()
    record = parse.RunRecord(
        run_id="r1",
        job_name="crawl_job",
        status="FAILURE",
        creation_time=start,
        start_time=start,
        end_time=start + 30,
        update_time=start + 30,
        parent_run_id="",
        root_run_id="",
        tags={},
        asset_selection=None,
    )
    sync.apply_runs(deployment, [record], start + 30)
    sync.apply_run_details(Run.objects.get(run_id="r1"), parse.run_details(data))


def run_failed_alerts() -> dict[str, Alert]:
    alerts = Alert.objects.filter(rule__name="Run failed").select_related("source")
    return {alert.source.key: alert for alert in alerts if alert.source}


def test_a_run_failed_outside_any_step_raises_run_failed_on_every_planned_source(
    deployment: Deployment,
) -> None:
    unreachable = error("DagsterUserCodeUnreachableError", "Could not reach user code server.")
    poll_failed_run(deployment, payload(engine_event(DEQUEUE, unreachable), run_failure(OUTSIDE)))
    evaluation.evaluate(T0 + timedelta(minutes=1))
    alerts = run_failed_alerts()
    assert set(alerts) == {"checkers", "picknpay", "spar", "crawl_job"}
    for key, alert in alerts.items():
        assert alert.summary == f"{key} failed: Could not reach user code server."
        assert alert.details["error"] == f"Could not reach user code server.\n{DEQUEUE}"
        assert alert.run_id == "r1"


def test_two_failed_steps_raise_run_failed_each_with_its_own_error(
    deployment: Deployment,
) -> None:
    poll_failed_run(
        deployment,
        payload(
            step_failure("checkers", "checkers: 502"),
            step_failure("picknpay", "picknpay: 404"),
            run_failure('Execution of run for "crawl_job" failed.'),
        ),
    )
    evaluation.evaluate(T0 + timedelta(minutes=1))
    alerts = run_failed_alerts()
    assert {key: alert.summary for key, alert in alerts.items()} == {
        "checkers": "checkers failed in step checkers: checkers: 502",
        "picknpay": "picknpay failed in step picknpay: picknpay: 404",
        "crawl_job": "crawl_job failed in step checkers: checkers: 502",
    }
    assert alerts["picknpay"].details["error"] == "picknpay: 404"
