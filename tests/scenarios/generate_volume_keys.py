"""Writes the volume-key scenario file in tests/scenarios/data/ (issue 16, volume without
configuration):

    .venv/bin/python -m tests.scenarios.generate_volume_keys

Deterministic (seeded); test_volume_keys_scenarios.py checks the committed file is what this
writes. The line format is generate.py's.

- volume_keys_five_sources: over 18 days from Sunday Nov 1, five daily sources (schedule
  ``0 3 * * *``) each report their volume under another key (``dagster/row_count``,
  ``sku_count``, ``rows``, ``num_records``, ``row_count``) beside a key that is no volume
  (``bytes``), within ±5 % of their level; each drops to 35 % for one day (``SOURCES``).
  A sixth, ``course_trips``, reports Dagster's course key ``Number of records`` (with spaces)
  and never drops.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta

from tests.scenarios.generate import DATA, NOV_1, Line, iso, render

DAYS = 18
# Source, its volume key, its usual level and the day (from Nov 1) it drops to 35 %.
SOURCES = {
    "dbt_orders": ("dagster/row_count", 12_000, 8),
    "retailer_skus": ("sku_count", 4_500, 10),
    "events_rows": ("rows", 800, 12),
    "crm_records": ("num_records", 2_200, 14),
    "ledger_rows": ("row_count", 650, 16),
    "course_trips": ("Number of records", 3_000, None),
}
DROP = 0.35


def drop_day(source: str) -> datetime | None:
    """When the source's injected drop ends (its run's ``at``), None if it never drops."""
    day = SOURCES[source][2]
    return None if day is None else NOV_1 + timedelta(days=day)


def run_line(source: str, day: int, rng: random.Random) -> Line:
    """A success at 03:00 plus up to two minutes, taking 2 to 8 minutes."""
    metric, level, dropping = SOURCES[source]
    start = NOV_1 + timedelta(days=day, hours=3, seconds=round(rng.uniform(5, 120)))
    seconds = round(rng.uniform(120, 480))
    factor = DROP if day == dropping else rng.uniform(0.95, 1.05)
    return {
        "at": iso(start + timedelta(seconds=seconds)),
        "source": source,
        "status": "success",
        "started_at": iso(start),
        "duration_s": float(seconds),
        "metrics": {metric: round(level * factor), "bytes": rng.randint(10_000, 90_000)},
    }


def five_volume_keys() -> list[Line]:
    rng = random.Random(16)
    lines: list[Line] = [
        {"type": "source", "source": source, "group": "ingest", "schedule": "0 3 * * *"}
        for source in SOURCES
    ]
    runs = [run_line(source, day, rng) for day in range(DAYS) for source in SOURCES]
    return lines + sorted(runs, key=lambda line: line["at"])


SCENARIOS = {"volume_keys_five_sources": five_volume_keys}


def main() -> int:
    DATA.mkdir(exist_ok=True)
    for name, build in SCENARIOS.items():
        (DATA / f"{name}.jsonl").write_text(render(build()), encoding="utf-8")
        print(f"wrote {DATA / name}.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
