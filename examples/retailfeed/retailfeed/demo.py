"""What confops's ``make demo`` asks of RetailFeed: some history at once, then a little every day.

The daily schedule alone would show nothing until 03:00 UTC and then one partition a day. With
``RETAILFEED_DEMO=1`` the demo sensor (see definitions.py) plans, at its first tick, the last
:data:`SEED_DAYS` daily partitions (so partitions show from the first minutes) and then, once a
day: the latest complete week's summary, one observation of the supplier feed inside a run, one
reported outside any run (as the supplier's own system would), and a catalogue ``.ready``
marker that the real ``catalog_drop_sensor`` turns into a ``catalog_job`` run. Run keys make
each request happen once; nothing touches the network. Kept free of Dagster objects so the plan
is tested without an instance.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import date, timedelta

DEMO_ENV = "RETAILFEED_DEMO"
SEED_DAYS = 3
SUPPLIER_ROWS = 5000


@dataclass(frozen=True)
class DemoRequest:
    """One run the demo sensor asks for: a job, its partition (if any) and a once-only key."""

    job_name: str
    run_key: str
    partition_key: str | None = None


@dataclass(frozen=True)
class DemoPlan:
    """One day's work: runs to request, the catalogue marker to drop, the runless observation."""

    requests: list[DemoRequest]
    marker_name: str
    supplier_rows: int
    cursor: str


def demo_on() -> bool:
    """The demo sensor runs by default only in confops's demo (``RETAILFEED_DEMO=1``)."""
    return os.environ.get(DEMO_ENV) == "1"


def plan(today: date, cursor: str | None, last_week: str | None) -> DemoPlan | None:
    """The work for ``today``, or None when the cursor says today's is done.

    The first tick (no cursor) also asks for the seed partitions. ``last_week`` is the newest
    complete weekly partition (None before the first one exists). Daily partitions after the
    seed come from ``daily_ingest_schedule``, never from here.
    """
    day = today.isoformat()
    if cursor == day:
        return None
    requests: list[DemoRequest] = []
    if cursor is None:
        for back in range(SEED_DAYS, 0, -1):
            seed = (today - timedelta(days=back)).isoformat()
            requests.append(DemoRequest("daily_ingest_job", f"demo-daily-{seed}", seed))
    if last_week is not None:
        requests.append(DemoRequest("weekly_summary_job", f"demo-weekly-{last_week}", last_week))
    requests.append(DemoRequest("observe_supplier_job", f"demo-observe-{day}"))
    # The supplier's own count moves a little from day to day (deterministic per day).
    rows = round(SUPPLIER_ROWS * random.Random(f"supplier/{day}").uniform(0.97, 1.03))
    return DemoPlan(requests, f"demo-{day}.ready", rows, day)
