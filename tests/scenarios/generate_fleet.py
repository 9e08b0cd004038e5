"""A fleet's history for replay at size (issue 19): ``days`` of ``sources`` sources, seeded.

    from tests.scenarios.generate_fleet import fleet_history
    lines = fleet_history(sources=1000, days=30, seed=19)

Used by ``benchmarks/backtest.py`` (1,000 sources x 30 days, about 41,000 runs) and by
``tests/alerts/test_replay_fleet.py`` (a small fleet replayed both ways). Cadences: 1 % of the
sources hourly, 5 % every six hours, the rest daily, each at a minute of its own; half of the
daily sources declare their Dagster schedule, the others are judged by learned cadence. Counts
vary +-10 %. Incidents, one of each per 50 sources (at least one each), on days past the first
week so baselines are warm:

- failures: a daily source fails two runs in a row, then recovers;
- staleness: a daily source stops for two days;
- a volume drop: one run of a daily source delivers 30 % of its usual count;
- an hourly (or six-hourly) source fails for six hours.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.scenarios.generate import iso

Line = dict[str, Any]
START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday


def source_key(index: int) -> str:
    return f"fleet_{index:04}"


def cadence_of(index: int) -> timedelta:
    """Hourly, six-hourly or daily: spread over the index so every slice of a fleet has some."""
    if index % 100 == 7:
        return timedelta(hours=1)
    if index % 20 == 3:
        return timedelta(hours=6)
    return timedelta(days=1)


def fleet_history(sources: int = 1000, days: int = 30, seed: int = 19) -> list[Line]:
    rng = random.Random(seed)
    lines: list[Line] = []
    runs: list[Line] = []
    daily = [i for i in range(sources) if cadence_of(i) == timedelta(days=1)]
    frequent = [i for i in range(sources) if cadence_of(i) < timedelta(days=1)]
    incidents = max(1, sources // 50)
    picked = rng.sample(daily, min(len(daily), 3 * incidents))
    failing = set(picked[:incidents])
    stopping = set(picked[incidents : 2 * incidents])
    dropping = set(picked[2 * incidents :])
    outage_of = set(rng.sample(frequent, min(len(frequent), incidents)))
    for index in range(sources):
        key = source_key(index)
        every = cadence_of(index)
        minute, hour = index % 60, 1 + index % 5
        line: Line = {"type": "source", "source": key, "group": f"team_{index % 10}"}
        if every == timedelta(days=1) and index % 2 == 0:
            line |= {"schedule": f"{minute} {hour} * * *", "schedule_name": f"{key}_daily"}
        lines.append(line)
        usual = rng.randint(50, 5000)
        first = START + timedelta(minutes=minute) + (timedelta(hours=hour) if every.days else every)
        incident_day = rng.randint(8, days - 3) if days > 11 else days // 2
        tick = first
        while tick < START + timedelta(days=days):
            day = (tick - START).days
            status, count = "success", usual * rng.uniform(0.9, 1.1)
            if index in failing and day in (incident_day, incident_day + 1):
                status = "failure"
            elif index in stopping and day in (incident_day, incident_day + 1):
                tick += every
                continue
            elif index in dropping and day == incident_day:
                count = usual * 0.3
            elif index in outage_of and day == incident_day and 10 <= tick.hour < 16:
                status = "failure"
            seconds = round(rng.uniform(20, 240))
            run: Line = {
                "at": iso(tick + timedelta(seconds=seconds)),
                "source": key,
                "status": status,
                "duration_s": float(seconds),
            }
            if status == "failure":
                run["error"] = "HTTP 503 Service Unavailable"
            else:
                run["metrics"] = {"count": round(count)}
            runs.append(run)
            tick += every
    runs.sort(key=lambda r: r["at"])
    return lines + runs
