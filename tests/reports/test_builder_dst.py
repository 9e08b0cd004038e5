"""The report on the two DST days of Europe/Paris in 2026, every figure worked out by hand.

2026-03-29 has 23 hours (02:00 CET jumps to 03:00 CEST at 01:00 UTC): the window is
2026-03-28 23:00 UTC to 2026-03-29 22:00 UTC. 2026-10-25 has 25 hours (03:00 CEST falls back to
02:00 CET at 01:00 UTC): the window is 2026-10-24 22:00 UTC to 2026-10-25 23:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from alerts.models import AlertRule
from monitoring.models import Source
from reports.builder import build_report
from reports.data import gather
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db

PARIS = "Europe/Paris"
SECOND = timedelta(seconds=1)


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def report_of(day: date, start: datetime, end: datetime) -> dict[str, Any]:
    """A day whose window is [start, end): "edges" runs on its first and last second and just
    outside it; "silent" last succeeded three days before, so it is stale all day (24 h 30 min)."""
    AlertRule.objects.all().delete()
    f.rule("Stale", "stale", parameters={"max_age_hours": 24, "grace_minutes": 30})
    dep = f.deployment("confradar")
    edges, silent = f.source("edges", dep), f.source("silent", dep)
    f.run(silent, start - timedelta(days=3))
    for moment in (start - SECOND, start, end - SECOND, end):
        f.run(edges, moment)
    Source.objects.update(first_seen_at=start - timedelta(days=30))
    return build_report(gather(day, PARIS), end + timedelta(hours=7)).to_json()


def line(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in report["sources"] if s["key"] == key)


def test_the_spring_forward_day_has_23_hours() -> None:
    start, end = utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)
    report = report_of(date(2026, 3, 29), start, end)
    hours = report["hours"]
    assert [h["label"] for h in hours] == ["00", "01", *(f"{h:02d}" for h in range(3, 24))]
    assert [h["succeeded"] for h in hours] == [1, *[0] * 21, 1]
    assert report["overall"]["runs"] == 2  # 00:00:00 and 23:59:59, not the seconds outside
    silent = line(report, "silent")
    assert silent["breach_minutes"] == 23 * 60 == silent["breaches"][0]["minutes"]
    assert silent["breaches"][0]["label"] == "00:00\u2013end of day"


def test_the_fall_back_day_has_25_hours() -> None:
    start, end = utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)
    report = report_of(date(2026, 10, 25), start, end)
    hours = report["hours"]
    labels = ["00", "01", "02", "02", *(f"{h:02d}" for h in range(3, 24))]
    assert [h["label"] for h in hours] == labels
    # The run at 23:59:59 CET is in the 25th bar, not folded into the 24th.
    assert [h["succeeded"] for h in hours] == [1, *[0] * 23, 1]
    assert report["overall"]["runs"] == 2
    assert line(report, "silent")["breach_minutes"] == 25 * 60


def test_an_ordinary_paris_day_still_has_24_hours() -> None:
    start, end = utc(2026, 11, 20, 23), utc(2026, 11, 21, 23)
    report = report_of(date(2026, 11, 21), start, end)
    assert [h["label"] for h in report["hours"]] == [f"{h:02d}" for h in range(24)]
    assert line(report, "silent")["breach_minutes"] == 24 * 60
