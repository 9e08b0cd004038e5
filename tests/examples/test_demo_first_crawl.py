"""The demo's first crawl starts at once instead of at the next tick of demo_crawl_schedule."""

from __future__ import annotations

import os
import sys

import dagster as dg
import pytest

from tests.fixtures.dagster import CONFRADAR_DIR

if str(CONFRADAR_DIR) not in sys.path:
    sys.path.insert(0, str(CONFRADAR_DIR))

from confradar.definitions import DEMO_FIRST_CRAWL_KEY, defs


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
