"""Alert quality per rule (reports/quality.py) on the hand-made day of tests/reports/quality_day.py,
and the daily report's section that shows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.builder import build_report
from reports.data import gather
from reports.quality import rule_quality
from reports.render import render_html, render_text
from tests.alerts import factories as f
from tests.reports.quality_day import DAY, T0, at, incident, message, seed_incidents

NOW = T0 + timedelta(days=1, hours=7)


@pytest.fixture
def summary(db: None) -> dict[str, Any]:
    seed_incidents()
    return build_report(gather(DAY, "UTC"), NOW).to_json()


def test_each_rule_has_its_incidents_messages_times_flapping_and_unacknowledged(
    db: None,
) -> None:
    seed_incidents()
    figures = rule_quality(T0, T0 + timedelta(days=1))
    worst, other = figures.rules
    assert (worst.rule, worst.incidents, worst.messages_per_incident) == ("Run failed", 2, 2.5)
    assert (worst.median_ack_s, worst.median_resolve_s) == (600, 5400)
    assert (worst.flapping_ratio, worst.unacknowledged) == (0.5, 1)
    assert (other.rule, other.incidents, other.messages_per_incident) == ("Stale", 2, 1.5)
    assert (other.median_ack_s, other.median_resolve_s) == (600, 7200)
    assert (other.flapping_ratio, other.unacknowledged) == (0.5, 1)


def test_the_overall_line_counts_each_incident_once(db: None) -> None:
    seed_incidents()
    overall = rule_quality(T0, T0 + timedelta(days=1)).overall
    assert (overall.incidents, overall.messages, overall.messages_per_incident) == (3, 6, 2.0)
    assert (overall.flapping, overall.unacknowledged) == (1, 2)
    assert (overall.median_ack_s, overall.median_resolve_s) == (600, 5400)


def test_an_incident_opened_before_the_period_is_not_counted(db: None) -> None:
    seed_incidents()
    day_before = rule_quality(T0 - timedelta(days=1), T0)
    assert [(q.rule, q.incidents) for q in day_before.rules] == [("Run failed", 1)]
    assert day_before.overall.unacknowledged == 1


def test_the_report_section_lists_rules_worst_first(summary: dict[str, Any]) -> None:
    rules = summary["quality"]["rules"]
    assert [(q["rule"], q["messages_per_incident"]) for q in rules] == [
        ("Run failed", 2.5),
        ("Stale", 1.5),
    ]
    assert (rules[0]["median_ack"], rules[0]["median_resolve"]) == ("10 min", "1 h 30 min")
    assert (rules[0]["flapping_percent"], rules[0]["unacknowledged"]) == (50.0, 1)
    assert summary["quality"]["incidents"]["incidents"] == 3


def test_the_html_and_text_show_the_figures(summary: dict[str, Any]) -> None:
    html = render_html(summary, email=True)
    assert 'id="rule-quality"' in html
    assert "3 incidents, 2 messages per incident (per channel)" in html
    assert html.index("Run failed</td>") < html.index("Stale</td>")
    assert "<strong>2.5</strong>" in html and "1 h 30 min" in html
    text = render_text(summary)
    assert "- Incidents: 3, 2 messages per incident (per channel)" in text
    assert (
        "- Rule Run failed: 2 incidents, 2.5 messages per incident, acknowledged in 10 min, "
        "resolved in 1 h 30 min (medians), 50 % flapping, 1 never acknowledged"
    ) in text
    assert text.index("Rule Run failed") < text.index("Rule Stale")


def test_a_day_without_incidents_shows_no_section(db: None) -> None:
    summary = build_report(gather(DAY, "UTC"), NOW).to_json()
    assert summary["quality"]["rules"] == [] and summary["quality"]["incidents"] is None
    assert "rule-quality" not in render_html(summary, email=True)
    assert "- Incidents:" not in render_text(summary)


def test_a_stored_summary_from_before_the_section_still_renders(summary: dict[str, Any]) -> None:
    for key in ("rules", "incidents"):
        del summary["quality"][key]
    assert "rule-quality" not in render_html(summary, email=False)
    assert "- Incidents:" not in render_text(summary)


def test_the_query_count_does_not_grow_with_incidents(db: None) -> None:
    seed_incidents()
    with CaptureQueriesContext(connection) as few:
        rule_quality(T0, T0 + timedelta(days=1))
    rule = f.rule("Volume", "volume_drop")
    slack = f.channel("more")
    dep = f.deployment("more")
    for i in range(30):
        alert = f.alert(rule, f.source(f"extra_{i}", dep), at(10))
        made = incident([alert], at(10))
        message(made, "firing", [alert], [slack], at(10))
    with CaptureQueriesContext(connection) as many:
        figures = rule_quality(T0, T0 + timedelta(days=1))
    assert figures.overall.incidents == 33
    assert len(many.captured_queries) == len(few.captured_queries) == 2
