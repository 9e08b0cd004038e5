"""Placing runs on the status page's timeline (``monitoring.timeline``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitoring.choices import TimelineWindow
from monitoring.timeline import TimelineRun, TimeWindow, bar_state, bars, place, ticks

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = TimeWindow.ending(TimelineWindow.DAY, NOW)


def a_run(started_hours_ago: float, duration_s: float = 600, **fields: Any) -> TimelineRun:
    started = (NOW - timedelta(hours=started_hours_ago)).timestamp()
    values: dict[str, Any] = {
        "key": "run-1",
        "status": "SUCCESS",
        "outcome": "materialized",
        "started": started,
        "ended": started + duration_s,
        "duration_s": duration_s,
        "will_retry": False,
        "error": "",
        "url": "",
    }
    return TimelineRun(**(values | fields))


def test_a_bar_is_placed_by_its_start_and_sized_by_its_duration() -> None:
    bar = place(a_run(6, duration_s=3600), DAY, UTC)
    assert bar is not None
    assert (bar.left, bar.width, bar.state) == ("75.000%", "4.167%", "ok")
    assert bar.label == "Succeeded: started 06:00, 1 h"


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"status": "FAILURE", "outcome": "failed"}, "failed"),
        ({"status": "FAILURE", "outcome": "failed", "will_retry": True}, "retrying"),
        ({"status": "FAILURE", "outcome": "materialized"}, "ok"),
        ({"status": "FAILURE", "outcome": "skipped"}, "skipped"),
        ({"status": "FAILURE", "outcome": "planned"}, "failed"),
        ({"status": "CANCELED", "outcome": "planned"}, "canceled"),
        ({"status": "STARTED", "outcome": "planned", "ended": None}, "running"),
    ],
)
def test_the_state_is_what_the_run_did_to_this_source(fields: dict[str, Any], state: str) -> None:
    assert bar_state(a_run(1, **fields)) == state


def test_a_failure_carries_its_error_and_a_running_run_reaches_now() -> None:
    failed = place(a_run(2, status="FAILURE", outcome="failed", error=" HTTP 503 "), DAY, UTC)
    running = place(a_run(1, status="STARTED", outcome="planned", ended=None), DAY, UTC)
    assert failed is not None and failed.is_failure and failed.error == "HTTP 503"
    assert failed.label.endswith("HTTP 503")
    assert running is not None and running.width == "4.167%"


def test_runs_outside_the_window_are_dropped_and_edges_are_clipped() -> None:
    assert place(a_run(30), DAY, UTC) is None
    clipped = place(a_run(25, duration_s=2 * 3600), DAY, UTC)
    assert clipped is not None and clipped.left == "0.000%" and clipped.width == "4.167%"


def test_bars_are_drawn_oldest_first() -> None:
    newest_first = [a_run(1, key="new"), a_run(5, key="old")]
    assert [bar.key for bar in bars(newest_first, DAY, UTC)] == ["old", "new"]


def test_ticks_mark_every_three_hours_or_every_midnight() -> None:
    day = ticks(DAY, UTC)
    assert [t.label for t in day][:3] == ["12:00", "15:00", "18:00"]
    assert day[0].left == "0.000%" and len(day) == 9
    week = ticks(TimeWindow.ending(TimelineWindow.WEEK, NOW), UTC)
    labels = ["Mon 16", "Tue 17", "Wed 18", "Thu 19", "Fri 20", "Sat 21", "Sun 22"]
    assert [t.label for t in week] == labels


@pytest.mark.parametrize(("kind", "hours"), [("1h", 1), ("6h", 6), ("24h", 24), ("7d", 7 * 24)])
def test_each_zoom_ends_now_and_spans_its_length(kind: str, hours: int) -> None:
    window = TimeWindow.ending(TimelineWindow(kind), NOW)
    assert window.end == NOW and window.seconds == hours * 3600
    # A run that started halfway through the window sits in its middle.
    bar = place(a_run(hours / 2, duration_s=1), window, UTC)
    assert bar is not None and bar.left == "50.000%"


def test_an_hour_places_minutes_and_clips_a_run_that_began_before_it() -> None:
    hour = TimeWindow.ending(TimelineWindow.HOUR, NOW)
    recent = place(a_run(0.25, duration_s=6 * 60), hour, UTC)  # 15 min ago, 6 min long
    clipped = place(a_run(1.5, duration_s=45 * 60), hour, UTC)  # 90 min ago, ended 45 min ago
    assert recent is not None and (recent.left, recent.width) == ("75.000%", "10.000%")
    assert clipped is not None and (clipped.left, clipped.width) == ("0.000%", "25.000%")
    assert place(a_run(2), hour, UTC) is None


def test_failures_are_drawn_after_every_success_that_could_cover_them() -> None:
    newest_first = [
        a_run(1, key="newer-ok", duration_s=3 * 3600),
        a_run(2, key="failed", status="FAILURE", outcome="failed", duration_s=5),
        a_run(3, key="older-ok"),
    ]
    assert [bar.key for bar in bars(newest_first, DAY, UTC)] == ["older-ok", "newer-ok", "failed"]


def test_zoomed_in_axes_mark_ten_minutes_or_hours() -> None:
    hour = ticks(TimeWindow.ending(TimelineWindow.HOUR, NOW + timedelta(minutes=5)), UTC)
    assert [t.label for t in hour] == ["11:10", "11:20", "11:30", "11:40", "11:50", "12:00"]
    six = ticks(TimeWindow.ending(TimelineWindow.SIX_HOURS, NOW), UTC)
    assert [t.label for t in six] == [f"{h:02d}:00" for h in range(6, 13)]
    assert six[0].left == "0.000%" and six[-1].left == "100.000%"
