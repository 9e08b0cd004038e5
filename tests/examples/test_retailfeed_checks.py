"""RetailFeed's asset checks as confops keeps and judges them, against a real webserver: every
declared check on each asset it checks with its blocking flag, known from discovery; a failed
blocking ERROR check raises the default "Asset check ERROR" rule.

The module runs its own webserver on a fresh Dagster home: its failed check run must not reach
the session instance that other RetailFeed modules judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.engine import evaluation
from alerts.models import Alert
from monitoring import polling
from monitoring.models import CheckResult, Deployment, Source
from tests.examples.test_retailfeed_pipeline import days_ago
from tests.fixtures.retailfeed import RetailfeedServer, start_retailfeed_webserver

pytestmark = [pytest.mark.django_db, pytest.mark.dagster]
RETAILERS = ("acme", "borealis", "corvid", "dunmore")
BLOCKING = "acme_products_have_skus"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetailfeedServer]:
    server = start_retailfeed_webserver(Path(tmp_path_factory.mktemp("retailfeed_checks_home")))
    try:
        yield server
    finally:
        server.session.close()
        server.process.stop()


@pytest.fixture(scope="module")
def failed_check_run(server: RetailfeedServer) -> Iterator[str]:
    """A daily run whose acme feed is empty: the blocking ERROR check fails (README switch 8)."""
    partition = days_ago(1)
    server.set_faults(
        {"assets": {"retail/acme/products": {"volume_factor": 0, "partitions": [partition]}}}
    )
    try:
        run_id = server.launch_partition("daily_ingest_job", partition)
        server.wait_for_run(run_id)
        yield run_id
    finally:
        server.clear_faults()


def watch_and_poll(server: RetailfeedServer) -> Deployment:
    deployment = Deployment.objects.create(
        name="retailfeed", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    return deployment


def declared(deployment: Deployment, key: str) -> dict[str, bool]:
    source = Source.objects.get(deployment=deployment, key=key)
    return {check["name"]: check["blocking"] for check in source.asset_checks}


def test_every_declared_check_is_kept_on_each_asset_it_checks_before_it_runs(
    server: RetailfeedServer,
) -> None:
    deployment = watch_and_poll(server)
    for retailer in RETAILERS:
        assert declared(deployment, f"retail/{retailer}/prices") == {
            "prices_positive": False,
            "prices_cover_products": False,
        }
    assert declared(deployment, "retail/acme/products") == {BLOCKING: True}
    assert not CheckResult.objects.filter(source__deployment=deployment).exists()


def test_a_failed_blocking_error_check_raises_asset_check_error(
    server: RetailfeedServer, failed_check_run: str
) -> None:
    deployment = watch_and_poll(server)
    result = CheckResult.objects.get(
        source__deployment=deployment, check_name=BLOCKING, dagster_run_id=failed_check_run
    )
    assert (result.passed, result.severity) == (False, "ERROR")
    evaluation.evaluate(timezone.now())
    alert = Alert.objects.get(rule__name="Asset check ERROR", source__deployment=deployment)
    assert alert.source is not None and alert.source.key == "retail/acme/products"
    assert alert.run_id == failed_check_run
    assert f"{BLOCKING} failed (ERROR, blocking downstream)" in alert.summary, alert.summary
