"""RetailFeed's Dagster definitions: per-retailer products and prices, a catalog, checks, jobs.

Laid out like a real ingestion project: asset keys ``retail/<retailer>/<table>``, daily
partitions, volume as ``dagster/row_count`` (products, assortment), ``sku_count`` (prices) and
``Number of records`` (weekly summary), freshness policies (time-window, cron and legacy),
multi-asset checks, a blocking check, an observable source, a schedule and a sensor. Every fault
switch is read at run time from :mod:`retailfeed.faults`; see README.md.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.definitions.executor_definition import in_process_executor

from retailfeed import demo, faults
from retailfeed.catalog import (
    PRICE_VOLUME_KEY,
    PRODUCT_VOLUME_KEY,
    RETAILERS,
    START_DATE,
    SUMMARY_VOLUME_KEY,
    Retailer,
    asset_path,
    price_rows,
    product_rows,
)

# A broken code location: raising here puts the location in error on the next (re)load.
_broken, _why = faults.location_fault()
if _broken:
    raise faults.RetailFeedFault(
        _why or "retailfeed definitions: catalog schema registry unreachable"
    )

DAILY = dg.DailyPartitionsDefinition(start_date=START_DATE)
WEEKLY = dg.WeeklyPartitionsDefinition(start_date=START_DATE)
AUTOMATION_ON = os.environ.get("RETAILFEED_AUTOMATION", "off") == "on"
OWNERS = ["team:ingestion"]


@dg.executor(name="retail_executor", config_schema=in_process_executor.config_schema)
def retail_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """The in-process executor, unless the ``run`` switch says its start-up fails.

    Raising here fails the run in the run worker before any step exists: Dagster records
    RUN_FAILURE with no STEP_FAILURE, like a resource or executor that cannot initialise.
    """
    failing, message = faults.run_fault(init_context.job.get_definition().name)
    if failing:
        raise faults.RetailFeedFault(message or "retail_executor: worker pool unavailable")
    return in_process_executor.executor_creation_fn(init_context)  # type: ignore[misc]


def _fault(context: dg.AssetExecutionContext, path: str) -> faults.AssetFault:
    partition = context.partition_key if context.has_partition_key else None
    fault = faults.asset_fault(path, partition)
    if fault != faults.AssetFault():
        context.log.warning(f"fault injection active for {path} [{partition}]: {fault}")
    return fault


def _products(retailer: Retailer) -> dg.AssetsDefinition:
    path = asset_path(retailer.name, "products")

    @dg.asset(
        key=path.split("/"),
        partitions_def=DAILY,
        group_name="ingestion",
        owners=OWNERS,
        kinds={"python", "csv"},
        tags={"retailer": retailer.name},
        description=f"{retailer.name}'s product feed ({retailer.feed_url}), one partition a day.",
        metadata={"feed_url": dg.MetadataValue.url(retailer.feed_url)},
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
        ),
    )
    def products(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        fault = _fault(context, path)
        context.log.info(f"downloading {retailer.feed_url} for {context.partition_key}")
        fault.raise_if_failing(retailer.failure_message)
        rows = product_rows(retailer.name, context.partition_key, fault.volume_factor)
        return dg.MaterializeResult(metadata={PRODUCT_VOLUME_KEY: dg.MetadataValue.int(len(rows))})

    return products


def _prices(retailer: Retailer) -> dg.AssetsDefinition:
    path = asset_path(retailer.name, "prices")

    @dg.asset(
        key=path.split("/"),
        deps=[dg.AssetKey(["retail", retailer.name, "products"])],
        partitions_def=DAILY,
        group_name="ingestion",
        owners=OWNERS,
        kinds={"python"},
        tags={"retailer": retailer.name},
        description=f"{retailer.name}'s price list, one price per product SKU.",
        freshness_policy=dg.FreshnessPolicy.cron(
            deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=4)
        ),
    )
    def prices(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        fault = _fault(context, path)
        fault.raise_if_failing(f"{retailer.name} prices: currency table missing for EUR")
        day = context.partition_key
        products = product_rows(retailer.name, day)
        rows = price_rows(products, day)[: round(len(products) * fault.volume_factor)]
        return dg.MaterializeResult(metadata={PRICE_VOLUME_KEY: dg.MetadataValue.int(len(rows))})

    return prices


PRODUCTS = [_products(r) for r in RETAILERS.values()]
PRICES = [_prices(r) for r in RETAILERS.values()]
PRICE_KEYS = [dg.AssetKey(["retail", name, "prices"]) for name in RETAILERS]
PRODUCT_KEYS = [dg.AssetKey(["retail", name, "products"]) for name in RETAILERS]


@dg.multi_asset_check(
    specs=[
        *(dg.AssetCheckSpec("prices_positive", asset=key) for key in PRICE_KEYS),
        *(dg.AssetCheckSpec("prices_cover_products", asset=key) for key in PRICE_KEYS),
    ],
    description="Every price is positive (ERROR); every product SKU has a price (WARN).",
)
def price_checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
    day = context.run.tags.get("dagster/partition", START_DATE)
    for key in PRICE_KEYS:
        products = product_rows(key.path[1], day)
        prices = price_rows(products, day)
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="prices_positive",
            passed=all(float(p["price"]) > 0 for p in prices),  # type: ignore[arg-type]
            severity=dg.AssetCheckSeverity.ERROR,
        )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="prices_cover_products",
            passed=len(prices) >= len(products),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"missing": len(products) - len(prices)},
        )


@dg.asset_check(
    asset=PRODUCT_KEYS[0],
    blocking=True,
    description="acme's feed has SKUs; blocks acme's prices in the same run when it fails.",
)
def acme_products_have_skus(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    day = context.run.tags.get("dagster/partition", START_DATE)
    count = len(
        product_rows("acme", day, faults.asset_fault("retail/acme/products", day).volume_factor)
    )
    return dg.AssetCheckResult(
        passed=count > 0, severity=dg.AssetCheckSeverity.ERROR, metadata={"skus": count}
    )


@dg.asset(
    key=["retail", "catalog", "assortment"],
    deps=PRICE_KEYS,
    group_name="catalog",
    owners=OWNERS,
    description="The merged assortment across retailers (latest prices of each).",
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=24)),
)
def assortment(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    fault = _fault(context, "retail/catalog/assortment")
    fault.raise_if_failing("assortment merge: duplicate SKU across retailers")
    total = sum(len(product_rows(name, START_DATE)) for name in RETAILERS)
    return dg.MaterializeResult(
        metadata={PRODUCT_VOLUME_KEY: dg.MetadataValue.int(round(total * fault.volume_factor))}
    )


@dg.asset(
    key=["retail", "catalog", "weekly_summary"],
    partitions_def=WEEKLY,
    group_name="catalog",
    description="A weekly summary of every retailer's catalogue (Dagster course style).",
    legacy_freshness_policy=dg.LegacyFreshnessPolicy(maximum_lag_minutes=8 * 24 * 60),
)
def weekly_summary(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    fault = _fault(context, "retail/catalog/weekly_summary")
    fault.raise_if_failing("weekly summary: warehouse query cancelled (statement timeout)")
    week = context.partition_key
    total = sum(len(product_rows(name, week)) for name in RETAILERS)
    return dg.MaterializeResult(
        metadata={SUMMARY_VOLUME_KEY: dg.MetadataValue.int(round(total * fault.volume_factor))}
    )


@dg.observable_source_asset(
    key=["retail", "supplier", "master_feed"],
    group_name="sources",
    description="The suppliers' master feed other teams publish; observed, never materialised.",
)
def supplier_master_feed(context: dg.OpExecutionContext) -> dg.ObserveResult:
    fault = faults.asset_fault("retail/supplier/master_feed")
    fault.raise_if_failing("supplier master feed: listing the bucket returned 403")
    rows = round(5000 * fault.volume_factor)
    return dg.ObserveResult(
        data_version=dg.DataVersion(str(rows)),
        metadata={PRODUCT_VOLUME_KEY: dg.MetadataValue.int(rows)},
    )


daily_ingest_job = dg.define_asset_job(
    "daily_ingest_job",
    selection=dg.AssetSelection.assets(*PRODUCTS, *PRICES),
    partitions_def=DAILY,
    executor_def=retail_executor,
    description="Download every retailer's products, then prices, for one day.",
)
catalog_job = dg.define_asset_job(
    "catalog_job", selection=dg.AssetSelection.assets(assortment), executor_def=retail_executor
)
weekly_summary_job = dg.define_asset_job(
    "weekly_summary_job",
    selection=dg.AssetSelection.assets(weekly_summary),
    partitions_def=WEEKLY,
    executor_def=retail_executor,
)
observe_supplier_job = dg.define_asset_job(
    "observe_supplier_job", selection=dg.AssetSelection.assets(supplier_master_feed.key)
)

_DEFAULT_STATUS = (
    dg.DefaultScheduleStatus.RUNNING if AUTOMATION_ON else dg.DefaultScheduleStatus.STOPPED
)
daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job, name="daily_ingest_schedule", hour_of_day=3, default_status=_DEFAULT_STATUS
)


def drops_dir() -> Path:
    """Where a retailer's "catalogue ready" marker files land (under DAGSTER_HOME)."""
    return Path(os.environ.get("DAGSTER_HOME", ".")) / "retailfeed_drops"


@dg.sensor(
    job=catalog_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING
    if AUTOMATION_ON
    else dg.DefaultSensorStatus.STOPPED,
    description="Rebuilds the assortment when a *.ready marker appears in retailfeed_drops/.",
)
def catalog_drop_sensor(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
    folder = drops_dir()
    for marker in sorted(folder.glob("*.ready")) if folder.exists() else []:
        yield dg.RunRequest(run_key=f"{marker.name}:{marker.stat().st_mtime_ns}")


SUPPLIER_KEY = dg.AssetKey(["retail", "supplier", "master_feed"])


@dg.sensor(
    jobs=[daily_ingest_job, weekly_summary_job, observe_supplier_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING
    if demo.demo_on()
    else dg.DefaultSensorStatus.STOPPED,
    description="confops's demo: the last days' partitions at once, then the day's catalogue "
    "marker, weekly summary and supplier observations (in a run and runless); running by "
    "default only if RETAILFEED_DEMO=1.",
)
def demo_history_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    work = demo.plan(datetime.now(UTC).date(), context.cursor, WEEKLY.get_last_partition_key())
    if work is None:
        return dg.SkipReason("today's demo work is done")
    folder = drops_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / work.marker_name).touch()
    context.instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key=SUPPLIER_KEY,
            metadata={PRODUCT_VOLUME_KEY: dg.MetadataValue.int(work.supplier_rows)},
        )
    )
    requests = [
        dg.RunRequest(run_key=r.run_key, job_name=r.job_name, partition_key=r.partition_key)
        for r in work.requests
    ]
    return dg.SensorResult(run_requests=requests, cursor=work.cursor)


defs = dg.Definitions(
    assets=[*PRODUCTS, *PRICES, assortment, weekly_summary, supplier_master_feed],
    asset_checks=[price_checks, acme_products_have_skus],
    jobs=[daily_ingest_job, catalog_job, weekly_summary_job, observe_supplier_job],
    schedules=[daily_ingest_schedule],
    sensors=[catalog_drop_sensor, demo_history_sensor],
    executor=retail_executor,
)
