"""Issue 16's "Done when", judged by confops against RetailFeed's real webserver: what the poll
stores of each fault switch, evaluated by the default rules at an injected ``now``.

The module launches its runs together once (a run killed before its first step, a run with two
failed steps); each test polls a fresh deployment and evaluates. ``now`` is always computed from
what the poll stored (a last success plus a declared window), never fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.engine import evaluation
from alerts.models import Alert, AlertRule
from alerts.rules.stale import Stale
from monitoring import polling
from monitoring.choices import RunAssetOutcome, SourceKind
from monitoring.models import Deployment, Run, Source
from tests.examples.test_retailfeed_pipeline import ACME_ERROR, BOREALIS_ERROR, days_ago
from tests.fixtures.retailfeed import RetailfeedServer

RUN_ERROR = "retail_executor: worker pool unavailable (judgement test)"
TIME_WINDOW_SOURCE = "retail/dunmore/products"  # FreshnessPolicy.time_window(fail 26 h, warn 25 h)
CRON_SOURCE = "retail/dunmore/prices"  # FreshnessPolicy.cron("0 6 * * *", lower bound 4 h)
MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Runs:
    run_failure: str  # catalog_job killed before its first step
    two_errors: str  # daily_ingest_job: acme and borealis products fail, corvid and dunmore not
    partition: str


@pytest.fixture(scope="module")
def runs(retailfeed_webserver: RetailfeedServer) -> Iterator[Runs]:
    """The module's runs, launched together under one faults file. The partition is yesterday's,
    the newest a daily run can have, so it is each source's newest partition whatever else ran
    on the session's instance."""
    server = retailfeed_webserver
    partition = days_ago(1)
    server.set_faults(
        {
            "run": {"fail": True, "message": RUN_ERROR, "jobs": ["catalog_job"]},
            "assets": {
                "retail/acme/products": {
                    "fail": True,
                    "error_type": "ConnectionError",
                    "partitions": [partition],
                },
                "retail/borealis/products": {
                    "fail": True,
                    "error_type": "PermissionError",
                    "partitions": [partition],
                },
            },
        }
    )
    try:
        run_failure = server.launch_run("catalog_job")
        two_errors = server.launch_partition("daily_ingest_job", partition)
        for run_id in (run_failure, two_errors):
            server.wait_for_run(run_id)
        yield Runs(run_failure, two_errors, partition)
    finally:
        server.clear_faults()


def watch_and_poll(server: RetailfeedServer) -> Deployment:
    deployment = Deployment.objects.create(
        name="retailfeed", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    return deployment


def alerts_of(rule_name: str, deployment: Deployment) -> dict[str, Alert]:
    found = Alert.objects.filter(rule__name=rule_name, source__deployment=deployment)
    return {alert.source.key: alert for alert in found.select_related("source") if alert.source}


def stale_rule_name() -> str:
    return AlertRule.objects.get(kind=Stale.name).name


def stale_grace() -> timedelta:
    rule = AlertRule.objects.get(kind=Stale.name)
    return timedelta(minutes=float(rule.parameters.get("grace_minutes", 30)))


def source(deployment: Deployment, key: str) -> Source:
    return Source.objects.get(deployment=deployment, key=key)


def last_success(deployment: Deployment, key: str) -> datetime:
    moment = source(deployment, key).last_success_at
    assert moment is not None, f"{key} has no success"
    return moment


# --- every failure is somebody's failure ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.dagster
def test_a_run_killed_before_its_first_step_raises_run_failed_on_every_planned_asset(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    deployment = watch_and_poll(retailfeed_webserver)
    run = Run.objects.get(deployment=deployment, run_id=runs.run_failure)
    links = list(run.run_assets.select_related("source"))
    assert {link.source.key for link in links} == {"retail/catalog/assortment", "catalog_job"}
    assert {link.outcome for link in links} == {RunAssetOutcome.FAILED}
    # catalog_job is an asset job: its assets speak for it (the rule leaves asset jobs out).
    planned = {link.source.key for link in links if link.source.kind == SourceKind.ASSET}
    evaluation.evaluate(timezone.now())
    alerts = {
        key: alert
        for key, alert in alerts_of("Run failed", deployment).items()
        if alert.run_id == runs.run_failure
    }
    assert set(alerts) == planned
    for key, alert in alerts.items():
        # The summary leads with the executor's own error, not Dagster's generic engine message.
        assert alert.summary.startswith(f"{key} failed: "), alert.summary
        assert RUN_ERROR in alert.summary, alert.summary
        assert RUN_ERROR in alert.details["error"], (key, alert.details)


@pytest.mark.django_db
@pytest.mark.dagster
def test_two_failed_steps_raise_two_alerts_each_with_its_own_step_error(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    deployment = watch_and_poll(retailfeed_webserver)
    evaluation.evaluate(timezone.now())
    alerts = alerts_of("Run failed", deployment)
    acme, borealis = alerts["retail/acme/products"], alerts["retail/borealis/products"]
    assert acme.run_id == borealis.run_id == runs.two_errors
    assert ACME_ERROR in acme.details["error"] and BOREALIS_ERROR not in acme.details["error"]
    assert BOREALIS_ERROR in borealis.details["error"] and ACME_ERROR not in borealis.summary
    assert ACME_ERROR in acme.summary and BOREALIS_ERROR in borealis.summary
    # The retailers that did not fail in this run raise nothing from it (the session's shared
    # instance may hold other modules' runs, e.g. a backfill failing dunmore's older partitions).
    of_this_run = {key for key, alert in alerts.items() if alert.run_id == runs.two_errors}
    assert of_this_run == {"retail/acme/products", "retail/borealis/products"}


# --- Dagster's freshness policy is the limit --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.dagster
def test_the_time_window_policy_is_the_stale_limit(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    deployment = watch_and_poll(retailfeed_webserver)
    policy = source(deployment, TIME_WINDOW_SOURCE).freshness_policy
    assert policy["failWindowSeconds"] == 26 * 3600
    deadline = last_success(deployment, TIME_WINDOW_SOURCE) + timedelta(hours=26) + stale_grace()
    assert_stale_exactly_after(deployment, TIME_WINDOW_SOURCE, deadline)
    summary = alerts_of(stale_rule_name(), deployment)[TIME_WINDOW_SOURCE].summary
    assert "Dagster freshness policy: time window, fail 1 d 2 h" in summary, summary


@pytest.mark.django_db
@pytest.mark.dagster
def test_the_cron_policy_is_the_stale_limit(
    retailfeed_webserver: RetailfeedServer, runs: Runs
) -> None:
    deployment = watch_and_poll(retailfeed_webserver)
    assert source(deployment, CRON_SOURCE).freshness_policy["deadlineCron"] == "0 6 * * *"
    covered = last_success(deployment, CRON_SOURCE) + timedelta(hours=4)
    deadline = next_six_utc(covered) + stale_grace()
    assert_stale_exactly_after(deployment, CRON_SOURCE, deadline)
    summary = alerts_of(stale_rule_name(), deployment)[CRON_SOURCE].summary
    assert "Dagster freshness policy: cron 0 6 * * *" in summary, summary


# --- helpers ----------------------------------------------------------------------------------


def assert_stale_exactly_after(deployment: Deployment, key: str, deadline: datetime) -> None:
    """No stale alert on ``key`` a minute before ``deadline``, one a minute after."""
    evaluation.evaluate(deadline - MARGIN)
    assert key not in alerts_of(stale_rule_name(), deployment)
    evaluation.evaluate(deadline + MARGIN)
    assert key in alerts_of(stale_rule_name(), deployment)


def next_six_utc(moment: datetime) -> datetime:
    """The first 06:00 UTC after ``moment`` (the cron policy's deadline tick)."""
    six = moment.astimezone(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    return six if six > moment else six + timedelta(days=1)
