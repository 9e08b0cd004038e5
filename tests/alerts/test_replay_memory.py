"""The focused clock keeps plain runs in memory (``World.remember_run``) and saves them in bulk
only when the engine next reads the database (``World.flush``): the histories it judges must be
exactly what ``history.load_sources`` reads back, or replays would drift from the engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.engine import history
from alerts.replay.lines import RunLine, parse_lines
from alerts.replay.simulation import World
from monitoring.models import Run, RunAsset, Source

START = datetime(2026, 3, 1, tzinfo=UTC)


def run_lines() -> list[str]:
    """Three sources, 40 runs each (more than a history keeps), with failures and their
    errors, metrics that change keys, partitions, a start given apart from the end, runs
    whose starts tie, and one run arriving after a later one started."""
    lines = []
    for index in range(40):
        at = START + timedelta(hours=index)
        lines.append(
            {
                "at": at.isoformat(),
                "source": "hourly",
                "status": "success",
                "duration_s": 60.0 + index,
                "metrics": {"count": 100 + index},
            }
        )
        failed = index % 7 == 3
        lines.append(
            {
                "at": (at + timedelta(minutes=5)).isoformat(),
                "source": "flaky",
                "status": "failure" if failed else "success",
                "duration_s": 30,
                **(
                    {"error": f"HTTP 503 <{index}>"}
                    if failed
                    else {"metrics": {"rows": index, **({"bytes": 1.5} if index > 20 else {})}}
                ),
                "partition": f"2026-03-{index % 28 + 1:02d}",
            }
        )
        lines.append(
            {
                "at": (at + timedelta(minutes=10)).isoformat(),
                "source": "tied",
                "status": "success",
                "started_at": START.isoformat(),
                "metrics": {},
            }
        )
    lines.append(
        {
            "at": (START + timedelta(hours=50)).isoformat(),
            "source": "hourly",
            "status": "success",
            "duration_s": 20 * 3600.0,
        }
    )  # started 10 runs ago
    return [json.dumps(line) for line in lines]


@pytest.mark.django_db
def test_a_remembered_history_is_what_the_database_gives_back() -> None:
    parsed = parse_lines(run_lines())
    world = World([], parsed, START)
    lines = sorted((item.line for item in parsed), key=lambda line: line.at)
    first = {}
    for line in lines:
        assert isinstance(line, RunLine)
        first.setdefault(line.source, line)
    for line in first.values():  # each source's first run through the database
        world.store(line, line.at)
    histories = history.load_sources()
    remembered = [line for line in lines if line not in first.values()]
    for line in remembered:
        world.store(line, line.at, histories)

    assert len(world.pending) == len(remembered)  # kept in memory, not saved
    assert Run.objects.count() == 3
    world.flush()
    assert Run.objects.count() == RunAsset.objects.count() == len(lines)
    assert histories == history.load_sources()
    assert len(histories[world.sources["hourly"].pk].runs) == history.RUNS_PER_SOURCE
    assert Source.objects.get(key="flaky").metric_keys.keys() == {"rows", "bytes"}
