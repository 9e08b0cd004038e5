"""The demo's first crawl starts at once instead of at the next tick of demo_crawl_schedule, and
RetailFeed's demo sensor gives the demo partitions, observations and a catalogue run at once."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from tests.fixtures.dagster import CONFRADAR_DIR
from tests.fixtures.retailfeed import RETAILFEED_DIR

if str(CONFRADAR_DIR) not in sys.path:
    sys.path.insert(0, str(CONFRADAR_DIR))
if str(RETAILFEED_DIR) not in sys.path:
    sys.path.insert(0, str(RETAILFEED_DIR))

from confradar.definitions import DEMO_FIRST_CRAWL_KEY, defs
from retailfeed import demo as retailfeed_demo
from retailfeed.definitions import SUPPLIER_KEY, drops_dir
from retailfeed.definitions import defs as retailfeed_defs


def test_every_tick_asks_for_the_same_single_crawl() -> None:
    sensor = defs.resolve_sensor_def("demo_first_crawl_sensor")
    with dg.instance_for_test() as instance:
        ticks = [sensor(dg.build_sensor_context(instance=instance)) for _ in range(3)]

    assert all(isinstance(tick, dg.RunRequest) for tick in ticks)
    assert {tick.run_key for tick in ticks} == {DEMO_FIRST_CRAWL_KEY}
    assert sensor.job_name == "crawl_job"


@pytest.mark.skipif(os.environ.get("CONFRADAR_DEMO") == "1", reason="run from a demo's shell")
def test_it_runs_only_in_the_demo() -> None:
    sensor = defs.resolve_sensor_def("demo_first_crawl_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_retailfeeds_first_demo_tick_seeds_partitions_observations_and_a_catalogue_marker() -> None:
    sensor = retailfeed_defs.resolve_sensor_def("demo_history_sensor")
    with dg.instance_for_test() as instance:
        today = datetime.now(UTC).date()
        first = sensor(dg.build_sensor_context(instance=instance))
        markers = sorted(path.name for path in drops_dir().glob("*.ready"))
        observations = instance.fetch_observations(SUPPLIER_KEY, limit=5).records
        again = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))

    assert isinstance(first, dg.SensorResult) and first.cursor == today.isoformat()
    days = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    daily = [r for r in first.run_requests or [] if r.job_name == "daily_ingest_job"]
    assert [r.partition_key for r in daily] == days
    jobs = {r.job_name for r in first.run_requests or []}
    assert jobs == {"daily_ingest_job", "weekly_summary_job", "observe_supplier_job"}
    assert markers == [f"demo-{today.isoformat()}.ready"]
    assert len(observations) == 1 and not observations[0].run_id
    assert isinstance(again, dg.SkipReason)


def test_retailfeeds_demo_seeds_once_then_asks_only_for_the_days_catalogue_work() -> None:
    day = date(2026, 12, 6)
    first = retailfeed_demo.plan(day, None, "2026-11-29")
    next_day = retailfeed_demo.plan(day + timedelta(days=1), first.cursor if first else None, None)

    assert first is not None and next_day is not None
    assert [r.partition_key for r in first.requests][:3] == [
        "2026-12-03",
        "2026-12-04",
        "2026-12-05",
    ]
    assert [r.job_name for r in next_day.requests] == ["observe_supplier_job"]
    assert next_day.marker_name == "demo-2026-12-07.ready"
    assert retailfeed_demo.plan(day, first.cursor, "2026-11-29") is None


@pytest.mark.skipif(os.environ.get("RETAILFEED_DEMO") == "1", reason="run from a demo's shell")
def test_retailfeeds_demo_sensor_runs_only_in_the_demo() -> None:
    sensor = retailfeed_defs.resolve_sensor_def("demo_history_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
