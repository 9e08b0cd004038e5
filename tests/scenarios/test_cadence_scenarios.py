"""Cadence scenarios (issue 15, freshness from cadence) replayed through ``manage.py replay``
with the default rules of the test database and one channel of each kind, as
test_scenarios.py does. The files are written by generate_cadence.py (see its docstring).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from alerts.defaults import STALE_RULE_NAME
from tests.scenarios import generate_cadence

# The command reads the default rules of the test database and replays on its own SQLite
# sandbox in a child process: the PostgreSQL pass would replay the same thing again.
pytestmark = [pytest.mark.django_db, pytest.mark.sandboxed_replay]
DATA = Path(__file__).parent / "data"
Replay = Callable[[str, float], list[dict[str, Any]]]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(scope="module")
def replay(django_db_setup: None, django_db_blocker: Any) -> Iterator[Replay]:
    """The alerts of one replay (each file replayed once per module)."""
    done: dict[tuple[str, float], list[dict[str, Any]]] = {}

    def run(name: str, tail_hours: float) -> list[dict[str, Any]]:
        if (name, tail_hours) not in done:
            out = io.StringIO()
            with django_db_blocker.unblock():
                call_command(
                    "replay",
                    str(DATA / f"{name}.jsonl"),
                    "--json",
                    "--tail",
                    str(tail_hours),
                    stdout=out,
                )
            done[(name, tail_hours)] = json.loads(out.getvalue())["alerts"]
        return done[(name, tail_hours)]

    yield run


def test_generated_files_are_current() -> None:
    for name, build in generate_cadence.SCENARIOS.items():
        written = (DATA / f"{name}.jsonl").read_text(encoding="utf-8")
        assert written == generate_cadence.render(build()), f"run generate_cadence.py ({name})"


def test_a_two_hourly_source_gone_silent_is_stale_within_five_hours(replay: Replay) -> None:
    alerts = replay("cadence_two_hourly_goes_silent", 12)
    stale = [a for a in alerts if a["rule"] == STALE_RULE_NAME]
    assert len(stale) == 1
    last_success = at("2026-11-04T22:05:27Z")
    delay = at(stale[0]["fired_at"]) - last_success
    # Learned every 2 h: due at +2 h, stale 2 h later plus the 30 min grace, on a 5-min step.
    assert timedelta(hours=4, minutes=30) <= delay <= timedelta(hours=5), delay
    assert stale[0]["resolved_at"] is None


def test_the_two_hourly_source_was_never_stale_while_it_ran(replay: Replay) -> None:
    alerts = replay("cadence_two_hourly_goes_silent", 12)
    assert all(at(a["fired_at"]) > at("2026-11-04T22:05:27Z") for a in alerts)


def test_weekly_and_weekday_jobs_over_five_weeks_raise_nothing(replay: Replay) -> None:
    alerts = replay("cadence_weekly_and_weekday_jobs", 24)
    stale = [a for a in alerts if a["rule"] == STALE_RULE_NAME]
    critical = [a for a in alerts if a["severity"] == "critical"]
    assert (len(stale), len(critical)) == (0, 0), alerts
