"""The report's figures on a seeded day, each worked out by hand (see tests/reports/seed.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.builder import build_report, stale_spans
from reports.data import SourceFacts, gather
from tests.alerts import factories as f
from tests.reports.seed import DAY, NOW, at, seed_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(admin_user: Any) -> dict[str, Any]:
    seed_day(admin_user)
    return build_report(gather(DAY, "UTC"), NOW).to_json()


def by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["key"]: line for line in report["sources"]}


def test_overall_health_counts_states_freshness_and_runs(report: dict[str, Any]) -> None:
    overall = report["overall"]
    assert overall["sources"] == 5
    assert {s["state"]: s["count"] for s in overall["by_state"]} == {
        "critical": 1,
        "unknown": 1,
        "healthy": 3,
    }
    # gamma is stale from 12:30; the other four (delta newly seen, epsilon gone) stay fresh.
    assert (overall["judged"], overall["fresh_all_day"], overall["sla_percent"]) == (5, 4, 80.0)
    assert (overall["runs"], overall["runs_succeeded"], overall["runs_failed"]) == (6, 4, 2)
    assert overall["success_rate"] == 66.7
    assert report["headline"] == (
        "4 of 6 runs succeeded, 80 % of sources fresh all day, 3 alerts fired, 1 open"
    )


def test_each_source_has_its_runs_durations_count_and_freshness(report: dict[str, Any]) -> None:
    lines = by_key(report)
    alpha, beta, gamma = lines["alpha"], lines["beta"], lines["gamma"]
    assert (alpha["runs"], alpha["succeeded"], alpha["failed"]) == (2, 2, 0)
    assert (alpha["duration_median_s"], alpha["duration_max_s"]) == (90.0, 120.0)
    assert (alpha["count"], alpha["count_average"], alpha["count_change_pct"]) == (
        80.0,
        100.0,
        -20.0,
    )
    assert (beta["runs"], beta["failed"], beta["success_rate"]) == (4, 2, 50.0)
    assert (beta["duration_median_s"], beta["duration_max_s"]) == (25.0, 40.0)
    assert [x["error"] for x in beta["failures"]] == [
        "HTTP 503 <b>from</b> beta.example",
        "Timeout after 30 s",
    ]
    assert [x["time"] for x in beta["failures"]] == ["03:00", "07:00"]
    assert gamma["fresh_all_day"] is False and gamma["breach_minutes"] == 690
    assert gamma["breaches"][0]["label"] == "12:30\u2013end of day"
    assert gamma["state"] == "critical" and lines["delta"]["state"] == "unknown"
    assert [line["key"] for line in report["worst"]] == ["gamma", "beta"]
    assert [line["key"] for line in report["sources"]][:2] == ["gamma", "delta"]


def test_alert_figures_count_what_happened_inside_the_day(report: dict[str, Any]) -> None:
    alerts = report["alerts"]
    assert (alerts["fired"], alerts["acknowledged"], alerts["resolved"], alerts["open"]) == (
        3,
        1,
        3,
        1,
    )
    assert alerts["median_ack_s"] == 600.0  # beta's first alert: 03:01 -> 03:11
    assert alerts["median_resolve_s"] == 7200.0  # 2 h, 2 h and alpha's 6 h
    assert [a["subject"] for a in alerts["open_critical"]] == ["gamma"]


def test_alert_quality_names_noise_flapping_and_long_silences(report: dict[str, Any]) -> None:
    quality = report["quality"]
    assert [(t["name"], t["count"]) for t in quality["noisy_rules"]] == [
        ("Run failed", 2),
        ("Stale", 1),
    ]
    assert [(t["name"], t["count"]) for t in quality["noisy_sources"]] == [
        ("beta", 2),
        ("gamma", 1),
    ]
    assert quality["unacknowledged_resolved_count"] == 1
    assert quality["unacknowledged_resolved"][0]["time"] == "07:01"
    assert quality["flapping"] == [
        {"key": "beta", "reason": "runs switched between success and failure 3 times"}
    ]
    [silence] = quality["long_silences"]
    assert silence["comment"] == "gamma site rebuild" and silence["active_for"] == "4 d"


def test_checks_changes_and_hours(report: dict[str, Any]) -> None:
    assert (report["checks"]["evaluations"], report["checks"]["failed"]) == (2, 1)
    assert report["checks"]["lines"][0]["last_passed"] is False
    assert report["changes"]["new_sources"] == ["delta"]
    assert report["changes"]["gone_sources"] == ["epsilon"]
    [change] = report["changes"]["audit"]
    assert (change["time"], change["actor"], change["fields"]) == (
        "11:00",
        "admin",
        "cooldown_minutes",
    )
    hours = report["hours"]
    assert len(hours) == 24
    assert (hours[3]["failed"], hours[5]["succeeded"], hours[14]["succeeded"]) == (1, 1, 1)


def test_a_day_in_another_time_zone_has_its_own_window(admin_user: Any) -> None:
    seed_day(admin_user)
    data = gather(DAY, "America/New_York")  # 05:00 UTC that day to 05:00 UTC the next
    assert data.start == at(5) and data.end == at(29)
    assert {r.ended_at for r in data.runs} == {at(5), at(7), at(9), at(14)}


def test_stale_spans_follow_the_successes() -> None:
    source = SourceFacts(
        id=1, key="s", slug="s", deployment="d", group="", first_seen_at=at(0, -9),
        gone_since=None, paused=False, fresh_limit_s=6 * 3600,
        last_success_before=at(-1), last_run_before=None,
    )  # fmt: skip
    spans = stale_spans(source, [at(10), at(12)], at(0), at(24))
    assert spans == [(at(5), at(10)), (at(18), at(24))]


def test_the_query_count_does_not_grow_with_sources(admin_user: Any) -> None:
    seed_day(admin_user)
    with CaptureQueriesContext(connection) as few:
        build_report(gather(DAY, "UTC"), NOW)
    dep = f.deployment("more")
    for i in range(40):
        source = f.source(f"extra_{i}", dep)
        f.run(source, at(4), ok=i % 3 != 0, metrics={"count": i})
        f.run(source, at(4, -2), metrics={"count": i})
    with CaptureQueriesContext(connection) as many:
        build_report(gather(DAY, "UTC"), NOW)
    assert len(many.captured_queries) == len(few.captured_queries) <= 15


def test_the_builder_reads_no_database(admin_user: Any, django_assert_num_queries: Any) -> None:
    seed_day(admin_user)
    data = gather(DAY, "UTC")
    with django_assert_num_queries(0):
        report = build_report(data, datetime(2030, 1, 1, tzinfo=UTC))
    assert report.generated_at == "2030-01-01T00:00:00+00:00"
    assert report.window_end == (at(0) + timedelta(days=1)).isoformat()
