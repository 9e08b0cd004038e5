"""The fleet simulator's contract with Dagster: one scenario played on the real RetailFeed
webserver and scripted on the simulator (tests/fixtures/fleet_sim.py), each polled by confops'
real poller into a deployment of its own, stores the same rows. Should Dagster's answers change
shape (or the simulator drift from them), the two projections differ and this test says where.

The scenario: a daily_ingest_job run of one day (eight materialisations with ``dagster/row_count``
and ``sku_count``, nine check evaluations, one with metadata), a catalog_job run that succeeds and
one that fails in its step. The numbers come from RetailFeed's own generator
(``retailfeed.catalog``), not from the real run, so the simulator is scripted blind.

Compared: the deployment's version and reachability; of the scenario's assets and jobs (the
simulator models only those) kind, key, group, op names, job names, asset-job flag, upstream keys
and declared check names; per run in creation order the status, partition, launch fields derived
from tags, error class, message and failed step, step keys with their status, every run-asset
link (outcome, metrics, error), asset event (kind, partition, step key, metrics, text metadata)
and check result (name, pass, severity, description, metadata). Not compared: ids and times
(they differ by nature), RetailFeed's other assets, schedules and sensors, and the discovery
fields the simulator leaves blank (descriptions, owners, tags, kinds, freshness policies, the
partitions definition's text, checks' blocking flag): rules read none of them from a run.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from monitoring.choices import SourceKind
from monitoring.models import Deployment, Run
from monitoring.polling import poll_deployment
from tests.examples.test_retailfeed_pipeline import days_ago
from tests.fixtures.fleet_sim import (
    ROW_COUNT,
    AssetSpec,
    DeploymentSpec,
    FleetConfig,
    FleetSimulator,
    SimCheck,
    SimRun,
)
from tests.fixtures.retailfeed import RETAILFEED_DIR, RetailfeedServer, running_retailfeed

if str(RETAILFEED_DIR) not in sys.path:
    sys.path.insert(0, str(RETAILFEED_DIR))

from retailfeed.catalog import (
    PRICE_VOLUME_KEY,
    RETAILERS,
    START_DATE,
    asset_path,
    price_rows,
    product_rows,
)

pytestmark = [pytest.mark.django_db, pytest.mark.dagster]

DAILY, CATALOG = "daily_ingest_job", "catalog_job"
ASSORTMENT = "retail/catalog/assortment"
ASSORTMENT_FAILS = {"assets": {ASSORTMENT: {"fail": True}}}
MULTI_CHECK_STEP = "price_checks"  # a multi-asset check's op is its function
ASSORTMENT_ERROR = "assortment merge: duplicate SKU across retailers"  # RetailFeed's default


def scenario_assets() -> tuple[AssetSpec, ...]:
    """RetailFeed's assets of the two jobs, as the simulator models them."""
    assets = []
    for name in RETAILERS:
        products, prices = asset_path(name, "products"), asset_path(name, "prices")
        checks = ("acme_products_have_skus",) if name == "acme" else ()
        assets.append(AssetSpec(products, DAILY, "ingestion", partitioned=True, checks=checks))
        assets.append(
            AssetSpec(
                prices,
                DAILY,
                "ingestion",
                upstream=(products,),
                checks=("prices_cover_products", "prices_positive"),
                partitioned=True,
            )
        )
    upstream = tuple(asset_path(name, "prices") for name in RETAILERS)
    return (*assets, AssetSpec(ASSORTMENT, CATALOG, "catalog", upstream=upstream))


def daily_run(day: str, at: float) -> SimRun:
    """What one day of daily_ingest_job produces, from RetailFeed's generator."""
    materialised: list[tuple[str, dict[str, int]]] = []
    checks = []
    for name in RETAILERS:
        products = product_rows(name, day)
        prices = price_rows(products, day)
        key = asset_path(name, "prices")
        materialised += [
            (asset_path(name, "products"), {ROW_COUNT: len(products)}),
            (key, {PRICE_VOLUME_KEY: len(prices)}),
        ]
        positive = all(float(str(p["price"])) > 0 for p in prices)
        missing = len(products) - len(prices)
        checks += [
            SimCheck(key, "prices_positive", positive, "ERROR", step_key=MULTI_CHECK_STEP),
            SimCheck(
                key,
                "prices_cover_products",
                missing <= 0,
                "WARN",
                metadata={"missing": missing},
                step_key=MULTI_CHECK_STEP,
            ),
        ]
    skus = len(product_rows("acme", day))
    checks.append(
        SimCheck(
            asset_path("acme", "products"),
            "acme_products_have_skus",
            skus > 0,
            "ERROR",
            None,
            {"skus": skus},
        )
    )
    return scripted_run(
        DAILY, at, partition=day, materialised=tuple(materialised), checks=tuple(checks)
    )


def scripted_run(job: str, at: float, **fields: Any) -> SimRun:
    return SimRun(
        str(uuid.uuid4()), job, at, at + 1, at + 30, fields.pop("status", "SUCCESS"), **fields
    )


def scenario_runs(day: str, now: float) -> list[SimRun]:
    rows = sum(len(product_rows(name, START_DATE)) for name in RETAILERS)
    return [
        daily_run(day, now - 900),
        scripted_run(CATALOG, now - 600, materialised=((ASSORTMENT, {ROW_COUNT: rows}),)),
        scripted_run(
            CATALOG,
            now - 300,
            status="FAILURE",
            failed_step=ASSORTMENT.replace("/", "__"),
            error_class="RuntimeError",
            error_message=ASSORTMENT_ERROR,
        ),
    ]


@pytest.fixture(scope="module")
def retailfeed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetailfeedServer]:
    """A RetailFeed instance of the module's own with the scenario played, one run at a time."""
    with running_retailfeed(tmp_path_factory.mktemp("retailfeed_contract")) as server:
        assert (
            server.wait_for_run(server.launch_partition(DAILY, days_ago(2)))["status"] == "SUCCESS"
        )
        assert server.wait_for_run(server.launch_run(CATALOG))["status"] == "SUCCESS"
        server.set_faults(ASSORTMENT_FAILS)
        try:
            assert server.wait_for_run(server.launch_run(CATALOG))["status"] == "FAILURE"
        finally:
            server.clear_faults()
        yield server


@pytest.fixture
def simulator() -> Iterator[FleetSimulator]:
    spec = DeploymentSpec(
        "retailfeed-sim",
        scenario_assets(),
        scripted=tuple(scenario_runs(days_ago(2), time.time())),
        schedules=False,
        sensor=False,
    )
    with FleetSimulator(FleetConfig(specs=[spec])) as sim:
        yield sim


def rows(*values: Any) -> list[str]:
    """Rows as sorted JSON texts: comparable whatever their order of storage."""
    return sorted(json.dumps(value, sort_keys=True) for value in values)


def stored(deployment: Deployment) -> dict[str, Any]:
    """The projection of what confops stored for the deployment (see the module docstring)."""
    deployment.refresh_from_db()
    keys = {asset.key for asset in scenario_assets()} | {DAILY, CATALOG}
    sources = deployment.sources.filter(key__in=keys).prefetch_related("upstream")
    return {
        "deployment": (deployment.dagster_version, deployment.is_reachable, deployment.last_error),
        "sources": rows(
            *(
                [
                    s.kind,
                    s.key,
                    s.group_name,
                    s.op_names,
                    sorted(s.job_names),
                    s.is_asset_job,
                    sorted(u.key for u in s.upstream.all()),
                    sorted(c["name"] for c in s.asset_checks),
                ]
                for s in sources
            )
        ),
        "runs": [run_rows(run) for run in deployment.runs.order_by("created_at")],
    }


def run_rows(run: Run) -> dict[str, Any]:
    return {
        "run": [
            run.job_name,
            run.status,
            run.partition,
            run.launch_reason,
            run.schedule_name,
            run.sensor_name,
            run.backfill_id,
            run.retry_number,
            run.will_retry,
            run.error_class,
            run.error_message,
            run.failed_step,
            run.details_fetched,
        ],
        "steps": rows(*([s["stepKey"], s["status"]] for s in run.step_stats)),
        "links": rows(
            *(
                [a.source.key, a.outcome, a.metrics, a.error_message, a.failed_step]
                for a in run.run_assets.select_related("source")
            )
        ),
        "events": rows(
            *(
                [e.source.key, e.kind, e.partition, e.step_key, e.metrics, e.text_metadata]
                for e in run.events.select_related("source")
            )
        ),
        "checks": rows(
            *(
                [c.source.key, c.check_name, c.passed, c.severity, c.description, c.metadata]
                for c in run.check_results.select_related("source")
            )
        ),
    }


def test_confops_stores_the_same_rows_from_the_simulator_as_from_dagster(
    retailfeed: RetailfeedServer, simulator: FleetSimulator
) -> None:
    real = Deployment.objects.create(name="retailfeed", graphql_url=retailfeed.graphql_url)
    simulated = Deployment.objects.create(
        name="retailfeed-sim", graphql_url=simulator.url_for("retailfeed-sim")
    )
    for deployment in (real, simulated):
        assert poll_deployment(deployment, timezone.now()), deployment.last_error
    from_dagster, from_simulator = stored(real), stored(simulated)
    assert len(from_dagster["runs"]) == 3
    kinds = [json.loads(source)[0] for source in from_dagster["sources"]]
    assert kinds.count(SourceKind.ASSET) == 9 and kinds.count(SourceKind.JOB) == 2
    assert from_simulator["deployment"] == from_dagster["deployment"]
    assert from_simulator["sources"] == from_dagster["sources"]
    assert len(from_simulator["runs"]) == len(from_dagster["runs"])
    pairs = zip(from_dagster["runs"], from_simulator["runs"], strict=True)
    for index, (expected, got) in enumerate(pairs):
        for part in expected:
            assert got[part] == expected[part], (
                f"run {index} {part}: {got[part]} != {expected[part]}"
            )
