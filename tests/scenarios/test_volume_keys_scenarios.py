"""Volume without configuration (issue 16) replayed through ``manage.py replay`` with the
default rules of the test database, as test_cadence_scenarios.py does. The file is written by
generate_volume_keys.py (see its docstring)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.scenarios import generate_volume_keys

pytestmark = [pytest.mark.django_db, pytest.mark.sandboxed_replay]
DATA = Path(__file__).parent / "data"
NAME = "volume_keys_five_sources"
DROP_RULE = "Volume drop"


@pytest.fixture(scope="module")
def alerts(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[dict[str, Any]]]:
    """The alerts of one replay of the file with the default rules."""
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command(
            "replay",
            str(DATA / f"{NAME}.jsonl"),
            "--json",
            "--tail",
            "6",
            "--step",
            "900",
            stdout=out,
        )
    yield json.loads(out.getvalue())["alerts"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_generated_file_is_current() -> None:
    for name, build in generate_volume_keys.SCENARIOS.items():
        written = (DATA / f"{name}.jsonl").read_text(encoding="utf-8")
        assert written == generate_volume_keys.render(build()), f"run {name}'s generator"


def test_every_injected_drop_is_found_under_its_own_key(alerts: list[dict[str, Any]]) -> None:
    drops = {a["source"]: a for a in alerts if a["rule"] == DROP_RULE}
    dropping = {s for s in generate_volume_keys.SOURCES if generate_volume_keys.drop_day(s)}
    assert set(drops) == dropping
    for source, alert in drops.items():
        day = generate_volume_keys.drop_day(source)
        assert day is not None and at(alert["fired_at"]).date() == day.date(), alert
        assert alert["resolved_at"] is not None  # back the next day


def test_no_other_day_or_source_raises_an_alert(alerts: list[dict[str, Any]]) -> None:
    assert [a for a in alerts if a["rule"] != DROP_RULE] == []
    assert len([a for a in alerts if a["rule"] == DROP_RULE]) == 5
