"""Run.record_outcomes: the one door through which the poll, pushed reports and the replay store
what a run did to its sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.choices import RunAssetOutcome, RunStatus, SourceKind
from monitoring.models import Deployment, Outcome, Run, RunAsset, Source

CREATED = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
ENDED = CREATED + timedelta(minutes=10)


@pytest.fixture
def deployment() -> Deployment:
    return Deployment.objects.create(name="confradar", graphql_url="http://confradar/graphql")


def source(deployment: Deployment, key: str, kind: str = SourceKind.ASSET) -> Source:
    return Source.objects.create(deployment=deployment, kind=kind, key=key, slug=key)


def failed_run(deployment: Deployment) -> Run:
    return Run.objects.create(
        deployment=deployment,
        run_id="r-1",
        status=RunStatus.FAILURE,
        created_at=CREATED,
        started_at=CREATED + timedelta(minutes=1),
        ended_at=ENDED,
    )


@pytest.mark.django_db
def test_an_asset_takes_its_outcome_and_a_job_takes_the_run_status(
    deployment: Deployment,
) -> None:
    crawl, job = source(deployment, "crawl"), source(deployment, "nightly", SourceKind.JOB)
    run = failed_run(deployment)
    run.record_outcomes(
        {
            crawl: Outcome(RunAssetOutcome.MATERIALIZED, {"count": 7.0}),
            job: Outcome(RunAssetOutcome.FAILED, {}),
        },
        at=ENDED,
    )
    crawl.refresh_from_db()
    job.refresh_from_db()
    assert (crawl.last_status, crawl.last_success_at, crawl.last_metrics) == (
        RunStatus.SUCCESS,
        ENDED,
        {"count": 7.0},
    )
    assert (job.last_status, job.last_failure_at) == (RunStatus.FAILURE, ENDED)
    assert set(run.run_assets.values_list("run_created_at", flat=True)) == {CREATED}


@pytest.mark.django_db
def test_a_planned_or_skipped_asset_leaves_the_latest_state_alone(
    deployment: Deployment,
) -> None:
    crawl, parse = source(deployment, "crawl"), source(deployment, "parse")
    failed_run(deployment).record_outcomes(
        {
            crawl: Outcome(RunAssetOutcome.PLANNED, {}),
            parse: Outcome(RunAssetOutcome.SKIPPED, {}),
        },
        at=ENDED,
    )
    assert list(Source.objects.values_list("last_status", "last_run_at")) == [("", None)] * 2


@pytest.mark.django_db
def test_recording_again_corrects_the_stored_link_without_a_second_row(
    deployment: Deployment,
) -> None:
    crawl = source(deployment, "crawl")
    run = failed_run(deployment)
    RunAsset.objects.create(run=run, source=crawl, outcome=RunAssetOutcome.PLANNED)
    run.record_outcomes({crawl: Outcome(RunAssetOutcome.FAILED, {"count": 0.0})}, at=ENDED)
    link = RunAsset.objects.get()
    assert (link.outcome, link.metrics, link.run_created_at) == (
        RunAssetOutcome.FAILED,
        {"count": 0.0},
        CREATED,
    )
