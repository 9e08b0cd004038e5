"""ConfRadar's Dagster definitions: five scrapers, a SQLite store, checks, schedules, a sensor.

Runs use the in-process executor so a whole crawl takes seconds. Faults are read inside each
step (see :mod:`confradar.faults`), so a live deployment can be broken without a code change.
"""

import os
from typing import Any

import dagster as dg

from confradar import faults
from confradar.alerting import crawl_failure_sensor
from confradar.records import (
    REQUIRED_FIELDS,
    SOURCES,
    STORE_ASSET,
    Record,
    SourceSpec,
    generate_records,
    missing_required,
)
from confradar.registry import source_registry_sensor
from confradar.store import db_path, store_batches

PREVIEW_RECORDS = 3


def _load_faults(context: dg.AssetExecutionContext, name: str) -> faults.AssetFaults:
    plan = faults.load_plan()
    for warning in plan.warnings:
        context.log.warning(warning)
    active = plan.for_asset(name)
    if active.active:
        context.log.warning(f"fault injection active for {name}: {active.describe()}")
    return active


def _scraper(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.asset_name,
        group_name="scrapers",
        kinds={"python"},
        description=f"Conferences listed on {spec.domain} ({spec.url}); ~{spec.typical_count}.",
        metadata={"source_url": dg.MetadataValue.url(spec.url)},
    )
    def scrape(context: dg.AssetExecutionContext) -> dg.Output[list[Record]]:
        active = _load_faults(context, spec.asset_name)
        context.log.info(f"fetching {spec.url}")
        faults.apply_step_faults(spec.asset_name, active)
        records = generate_records(spec.asset_name, count_factor=active.count_factor)
        records = faults.apply_record_faults(records, active)
        context.log.info(f"parsed {len(records)} conferences from {spec.domain}")
        return dg.Output(
            records,
            metadata={
                "count": len(records),
                "source": spec.domain,
                "preview": dg.MetadataValue.json(records[:PREVIEW_RECORDS]),
            },
        )

    return scrape


def _checks(spec: SourceSpec) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=spec.asset_name,
        name="min_count",
        description=f"At least {spec.min_count} conferences (typically ~{spec.typical_count}).",
    )
    def min_count(records: list[Record]) -> dg.AssetCheckResult:
        count = len(records)
        return dg.AssetCheckResult(
            passed=count >= spec.min_count,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"{count} conferences from {spec.domain}, expected at least {spec.min_count}"
            ),
            metadata={"count": count, "threshold": spec.min_count},
        )

    @dg.asset_check(
        asset=spec.asset_name,
        name="required_fields",
        description=f"Every record has {', '.join(REQUIRED_FIELDS)}.",
    )
    def required_fields(records: list[Record]) -> dg.AssetCheckResult:
        incomplete = [r for r in records if missing_required(r)]
        missing: dict[str, int] = {}
        for record in incomplete:
            for name in missing_required(record):
                missing[name] = missing.get(name, 0) + 1
        return dg.AssetCheckResult(
            passed=not incomplete,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"{len(incomplete)} of {len(records)} records miss required fields"
                if incomplete
                else f"all {len(records)} records complete"
            ),
            metadata={"incomplete_records": len(incomplete), "missing": missing},
        )

    return [min_count, required_fields]


SCRAPERS = [_scraper(spec) for spec in SOURCES.values()]
SCRAPER_CHECKS = [check for spec in SOURCES.values() for check in _checks(spec)]


@dg.asset(
    name=STORE_ASSET,
    group_name="storage",
    kinds={"sqlite"},
    description="Merges all sources and upserts them into SQLite by (acronym, year).",
)
def store_conferences(
    context: dg.AssetExecutionContext,
    ai_deadlines_conferences: list[Record],
    acl_web_conferences: list[Record],
    chairing_tool_conferences: list[Record],
    elra_conferences: list[Record],
    wikicfp_conferences: list[Record],
) -> dg.Output[dict[str, Any]]:
    active = _load_faults(context, STORE_ASSET)
    faults.apply_step_faults(STORE_ASSET, active)
    batches = {
        "ai_deadlines_conferences": ai_deadlines_conferences,
        "acl_web_conferences": acl_web_conferences,
        "chairing_tool_conferences": chairing_tool_conferences,
        "elra_conferences": elra_conferences,
        "wikicfp_conferences": wikicfp_conferences,
    }
    path = db_path()
    stats = store_batches(batches, path, run_id=context.run.run_id)
    if stats.duplicates:
        context.log.warning(f"dropped {stats.duplicates} duplicates: {stats.duplicates_by_source}")
    return dg.Output(
        stats.as_dict(),
        metadata={
            "total_scraped": stats.total_scraped,
            "new_conferences": stats.new_conferences,
            "updated_conferences": stats.updated_conferences,
            "duplicates": stats.duplicates,
            "distinct_conferences": stats.distinct_conferences,
            "unchanged_conferences": stats.unchanged_conferences,
            "skipped_invalid": stats.skipped_invalid,
            "db_path": dg.MetadataValue.path(str(path)),
        },
    )


@dg.asset_check(
    asset=STORE_ASSET,
    name="no_duplicates",
    description=(
        "No source listed the same edition twice. WARN: duplicates are dropped before writing, "
        "so the table stays clean, but they reveal a scraper bug."
    ),
)
def no_duplicates(summary: dict[str, Any]) -> dg.AssetCheckResult:
    count = int(summary.get("duplicates", 0))
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{count} duplicate records dropped" if count else "no duplicates",
        metadata={
            "duplicates": count,
            "by_source": summary.get("duplicates_by_source", {}),
            "examples": summary.get("duplicate_keys", [])[:10],
        },
    )


crawl_job = dg.define_asset_job(
    "crawl_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Scrape all five sources, then store and check everything (one process).",
)


def _schedule_status(enabled: bool) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if enabled else dg.DefaultScheduleStatus.STOPPED


daily_crawl_schedule = dg.ScheduleDefinition(
    name="daily_crawl_schedule",
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    job=crawl_job,
    default_status=_schedule_status(os.environ.get("CONFRADAR_SCHEDULES", "").lower() != "off"),
    description="The nightly crawl. Stopped by default when CONFRADAR_SCHEDULES=off.",
)

demo_crawl_schedule = dg.ScheduleDefinition(
    name="demo_crawl_schedule",
    cron_schedule="*/2 * * * *",
    execution_timezone="UTC",
    job=crawl_job,
    default_status=_schedule_status(os.environ.get("CONFRADAR_DEMO") == "1"),
    description="A crawl every two minutes for demos; running by default only if CONFRADAR_DEMO=1.",
)

DEMO_FIRST_CRAWL_KEY = "demo-first-crawl"


@dg.sensor(
    name="demo_first_crawl_sensor",
    job=crawl_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING
    if os.environ.get("CONFRADAR_DEMO") == "1"
    else dg.DefaultSensorStatus.STOPPED,
    description="One crawl as soon as a demo starts, rather than at the next demo schedule tick; "
    "running by default only if CONFRADAR_DEMO=1.",
)
def demo_first_crawl_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    # Dagster starts one run per run key and sensor, so every later tick is skipped: one crawl
    # per Dagster instance, whatever the number of restarts.
    return dg.RunRequest(run_key=DEMO_FIRST_CRAWL_KEY)


defs = dg.Definitions(
    assets=[*SCRAPERS, store_conferences],
    asset_checks=[*SCRAPER_CHECKS, no_duplicates],
    jobs=[crawl_job],
    schedules=[daily_crawl_schedule, demo_crawl_schedule],
    sensors=[crawl_failure_sensor, source_registry_sensor, demo_first_crawl_sensor],
    executor=dg.in_process_executor,
)
