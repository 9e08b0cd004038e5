"""A run that fails before its first step, against the real webserver running the example: its
run config names a console log level that passes validation but fails when the run worker
initialises its loggers, so Dagster fails the run at initialisation with no step failure."""

from __future__ import annotations

import pytest

from monitoring.choices import RunAssetOutcome, RunStatus
from monitoring.models import Deployment, Run, Source
from tests.fixtures.dagster import DagsterServer
from tests.monitoring.test_ingestion_dagster import SCRAPERS, poll, watch

pytestmark = [pytest.mark.dagster, pytest.mark.django_db]

BAD_LOG_LEVEL = {"loggers": {"console": {"config": {"log_level": "NOT_A_LEVEL"}}}}


def test_a_run_failing_before_its_first_step_fails_every_planned_asset(
    dagster_webserver: DagsterServer,
) -> None:
    deployment: Deployment = watch(dagster_webserver)
    poll(deployment)
    run_id = dagster_webserver.launch_run("crawl_job", run_config=BAD_LOG_LEVEL)
    dagster_webserver.wait_for_run(run_id)
    poll(deployment)
    run = Run.objects.get(deployment=deployment, run_id=run_id)
    assert run.status == RunStatus.FAILURE and run.failed_step == ""
    assert "NOT_A_LEVEL" in run.error_message
    links = {link.source.key: link for link in run.run_assets.select_related("source", "run")}
    assert SCRAPERS | {"store_conferences", "crawl_job"} <= set(links)
    for key, link in links.items():
        assert link.outcome == RunAssetOutcome.FAILED, key
        assert "NOT_A_LEVEL" in link.error, key
    elra = Source.objects.get(deployment=deployment, key="elra_conferences")
    assert elra.last_status == RunStatus.FAILURE
