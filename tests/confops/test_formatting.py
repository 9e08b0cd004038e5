"""One rendering per value: 100,000 s and 1,234.5 read the same in an alert summary, a message,
a page, the daily report and the watcher (confops/common/formatting.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertState
from alerts.notify import messages
from alerts.notify.transports.slack import worst_line
from alerts.rules.confops_stalled import Snapshot, judge
from confops.common.formatting import number, since, span
from confops.runtime.watchdog import Thresholds
from reports.builder import build_report
from reports.data import AlertFacts, ReportData, Suggestion
from reports.render import render_html, render_text
from tests.alerts import factories as f
from tests.alerts.incidents import incident
from tests.alerts.rules import factories as rules

SECONDS = 100_000  # 27 h 46 min 40 s
DURATION = "1 d 3 h"
VALUE = 1234.5
NUMBER = "1,234.5"
DAY_START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (60, "1 min"),
        (185, "3 min 5 s"),
        (3600, "1 h"),
        (7800, "2 h 10 min"),
        (SECONDS, DURATION),
        (2 * 86400, "2 d"),
        (-5, "0 s"),
        (None, "—"),
        (float("nan"), "—"),
        (timedelta(minutes=90), "1 h 30 min"),
    ],
)
def test_a_duration_reads_in_at_most_two_units(seconds: float | None, text: str) -> None:
    assert span(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1208, "1,208"),
        (1208.0, "1,208"),
        (VALUE, NUMBER),
        (0.35, "0.35"),
        (0.3333, "0.33"),
        (-2.5, "-2.5"),
        (0.004, "0.004"),
        (None, "—"),
        (True, "True"),
        ("n/a", "n/a"),
        (float("inf"), "inf"),
    ],
)
def test_a_number_has_separators_and_at_most_two_decimals(value: object, text: str) -> None:
    assert number(value) == text


def test_an_age_reads_in_one_coarse_unit() -> None:
    now = DAY_START
    assert since(now - timedelta(seconds=SECONDS), now) == "27 h"
    assert since(now - timedelta(days=3, hours=5), now) == "3 d"
    assert since(None, now) == "—"


def test_an_alert_summary_says_a_duration_and_a_number_the_common_way() -> None:
    stuck = rules.judge(
        "run_never_finished", rules.history(rules.running(rules.NOW - timedelta(seconds=SECONDS)))
    )
    over = rules.judge(
        "metadata_threshold",
        rules.history(rules.with_metric(rules.NOW, VALUE)),
        metric="count",
        value=1000,
    )
    assert stuck is not None and f"started {DURATION} ago" in stuck.summary
    assert over is not None and f"count {NUMBER} > 1,000" in over.summary


def test_a_message_says_how_long_the_alert_lasted_the_common_way() -> None:
    raw = {"id": 1, "subject": "elra", "summary": "failed", "duration_s": SECONDS}
    payload = {"event": "resolved", "rule": {"name": "Run failed"}, "alerts": [raw]}
    message = messages.render("resolved", payload)
    assert message.subject.endswith(f"after {DURATION}")
    assert f"Lasted: {DURATION}" in message.text


def test_a_page_shows_a_run_duration_and_its_metric_the_common_way() -> None:
    run = SimpleNamespace(duration_s=SECONDS, run_id="r1", started_at=None, created_at=None)
    line = SimpleNamespace(link=SimpleNamespace(run=run), value=VALUE, state="ok", error="")
    html = render_to_string(
        "alerts/partials/source_runs.html", {"runs": {"lines": [line]}, "metric": "count"}
    )
    assert f"<td>{DURATION}</td>" in html
    assert f'<td class="num">{NUMBER}</td>' in html


@pytest.mark.django_db
def test_the_alert_pages_say_how_long_an_alert_lasted_and_how_long_ago_the_common_way(
    viewer_user_client: Client,
) -> None:
    now = timezone.now()
    fired = now - timedelta(seconds=SECONDS)
    source = f.source("elra_conferences", f.deployment())
    alert = incident("Run failed", source, state=AlertState.RESOLVED, at=fired)
    alert.resolved_at = alert.last_seen_at = now
    alert.save()
    detail = viewer_user_client.get(f"/alerts/{alert.pk}/").content.decode()
    listing = viewer_user_client.get("/alerts/").content.decode()
    assert f"after {DURATION}" in detail
    assert f">{since(fired, now)} ago</time>" in listing and "27 h ago" in listing


def test_the_daily_report_says_a_duration_and_a_number_the_common_way() -> None:
    fired = DAY_START - timedelta(seconds=50_000)
    alert = AlertFacts(1, 1, "Run failed", "run_failed", None, "elra", "warning", "failed", fired,
                       None, fired + timedelta(seconds=SECONDS), "auto")  # fmt: skip
    tip = Suggestion("Volume", "volume_bounds", "min", VALUE, 1000, 7, 3, 1, 1)
    data = ReportData(date(2026, 11, 2), "UTC", DAY_START, DAY_START + timedelta(days=1),
                      [], [], [], [alert], [], [], [], [tip])  # fmt: skip
    text = render_text(build_report(data, DAY_START + timedelta(days=1)).to_json())
    assert f"to resolve: {DURATION}" in text
    assert f"min {NUMBER} -> 1,000" in text


def test_the_watcher_says_a_stall_the_common_way() -> None:
    now = DAY_START
    [stall] = judge(
        Snapshot(beat_at=now - timedelta(seconds=SECONDS), worker_at=now),
        Thresholds.from_settings(),
        now,
    )
    assert stall.summary.endswith(f"for {DURATION}")


def test_the_daily_report_says_how_long_a_source_was_stale_the_common_way() -> None:
    stale = {
        "key": "gamma",
        "slug": "gamma",
        "state": "critical",
        "state_label": "Critical",
        "failed": 0,
        "runs": 1,
        "succeeded": 1,
        "breaches": [{"minutes": 1500}],
        "breach_minutes": 1500,
        "fresh_all_day": False,
        "count": None,
        "failures": [],
    }
    summary = {"day": "2026-11-02", "time_zone": "UTC", "sources": [stale]}
    assert "stale 1 d 1 h" in render_text(summary)
    assert "stale 1 d 1 h" in render_html(summary, email=True)
    assert "stale 1 d 1 h" in worst_line(stale)
