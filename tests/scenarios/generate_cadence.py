"""Writes the cadence scenario files in tests/scenarios/data/ (issue 15, freshness from cadence):

    .venv/bin/python tests/scenarios/generate_cadence.py

Deterministic (seeded); test_cadence_scenarios.py checks the committed files are what this
writes. The line format is generate.py's.

- cadence_two_hourly_goes_silent: a source with no schedule succeeds every 2 h (ending a few
  minutes after the even hour) for three days from Nov 2 00:00, then nothing after Nov 4 22:05
  (its cadence is learned from its successes).
- cadence_weekly_and_weekday_jobs: over five weeks from Sunday Nov 1, a weekly job (Dagster
  schedule ``0 3 * * 1``, Mondays 03:00) and a weekday-only job (``0 6 * * 1-5``), both
  healthy, each run ending a few minutes after its tick.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

from tests.scenarios.generate import DATA, NOV_1, Line, iso, render

TWO_HOURLY = "events_feed"
WEEKLY, WEEKDAY = "weekly_report", "weekday_ledger"
SILENT_AFTER = datetime(2026, 11, 4, 22, 0, tzinfo=UTC)


def run_line(key: str, tick: datetime, rng: random.Random) -> Line:
    """A success that starts within two minutes of its tick and takes 2 to 8 minutes."""
    start = tick + timedelta(seconds=round(rng.uniform(5, 120)))
    seconds = round(rng.uniform(120, 480))
    return {
        "at": iso(start + timedelta(seconds=seconds)),
        "source": key,
        "status": "success",
        "started_at": iso(start),
        "duration_s": float(seconds),
        "metrics": {"count": round(100 * rng.uniform(0.9, 1.1))},
    }


def two_hourly_goes_silent() -> list[Line]:
    rng = random.Random(15)
    lines: list[Line] = [{"type": "source", "source": TWO_HOURLY, "group": "feeds"}]
    tick = datetime(2026, 11, 2, 0, tzinfo=UTC)
    while tick <= SILENT_AFTER:
        lines.append(run_line(TWO_HOURLY, tick, rng))
        tick += timedelta(hours=2)
    return lines


def weekly_and_weekday_jobs() -> list[Line]:
    rng = random.Random(16)
    lines: list[Line] = [
        {
            "type": "source",
            "source": WEEKLY,
            "group": "reports",
            "schedule": "0 3 * * 1",
            "schedule_name": "weekly_report_schedule",
        },
        {
            "type": "source",
            "source": WEEKDAY,
            "group": "finance",
            "schedule": "0 6 * * 1-5",
            "schedule_name": "weekday_ledger_schedule",
        },
    ]
    for day in range(35):
        date = NOV_1 + timedelta(days=day)
        if date.weekday() == 0:
            lines.append(run_line(WEEKLY, date.replace(hour=3), rng))
        if date.weekday() < 5:
            lines.append(run_line(WEEKDAY, date.replace(hour=6), rng))
    return sorted(lines, key=lambda line: line.get("at", ""))


SCENARIOS = {
    "cadence_two_hourly_goes_silent": two_hourly_goes_silent,
    "cadence_weekly_and_weekday_jobs": weekly_and_weekday_jobs,
}


def main() -> int:
    DATA.mkdir(exist_ok=True)
    for name, build in SCENARIOS.items():
        (DATA / f"{name}.jsonl").write_text(render(build()), encoding="utf-8")
        print(f"wrote {DATA / name}.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
