"""What a notification says: one set (subject, text, HTML) per event, the runbook's first steps,
links into confops, and a storm of 500 alerts that stays readable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.choices import NotificationEvent, Severity
from alerts.engine import policy
from alerts.models import AlertRule, Runbook
from alerts.notify import links, messages
from alerts.notify.transports import slack
from tests.alerts import factories as f

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
RUNBOOK = """# Scraper failure

Check these first:

1. Open the Dagster run and read the failing step's error.
   It names the URL that failed.
2. Try the site in a browser: is it down for everyone?
   - if so, silence the source for the outage
3. Re-run the asset from Dagster.

Then a paragraph.

- another list that is not the first
"""


def alert_json(i: int, source: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": i,
        "subject": source,
        "severity": Severity.WARNING,
        "summary": f"{source} failed: HTTP 503",
        "error": "ConnectionError: HTTP 503 Service Unavailable\n  at fetch()",
        "run_id": f"run-{i}",
        "run_url": f"http://dagster.local/runs/run-{i}",
        "fired_at": T0.isoformat(),
        "resolved_at": None,
        "duration_s": None,
        "consequences": [],
        **fields,
    }


def payload(event: str, alerts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "rule": {"id": 1, "name": "Run failed", "kind": "run_failed"},
        "runbook": {"slug": "scraper-failure", "title": "Scraper failure", "steps": ["Look"]},
        "sources": [a["subject"] for a in alerts],
        "at": T0.isoformat(),
        "alerts": alerts,
        **extra,
    }


def test_the_runbook_steps_are_the_first_markdown_list() -> None:
    assert messages.first_steps(RUNBOOK) == [
        "Open the Dagster run and read the failing step's error.",
        "Try the site in a browser: is it down for everyone?",
        "Re-run the asset from Dagster.",
    ]
    assert messages.first_steps("no list here") == []
    assert messages.first_steps("- a\n- b\n- c", limit=2) == ["a", "b"]


def test_the_acknowledge_link_is_built_in_one_place(settings: Any) -> None:
    settings.CONFOPS_BASE_URL = "https://ops.example.com"
    assert links.alert_url(42) == "https://ops.example.com/alerts/42/"
    message = messages.render("firing", payload("firing", [alert_json(42, "elra_conferences")]))
    assert message.first is not None and message.first.url == links.alert_url(42)
    assert "https://ops.example.com/alerts/42/" in message.text
    assert 'href="https://ops.example.com/alerts/42/"' in message.html


def test_a_firing_message_names_severity_source_rule_error_and_runbook() -> None:
    message = messages.render(
        "firing", payload("firing", [alert_json(7, "elra_conferences", severity="critical")])
    )
    assert message.subject == "[CRITICAL] Firing: Run failed on elra_conferences"
    assert message.template_set == "alert"
    assert "ConnectionError: HTTP 503 Service Unavailable" in message.text
    assert "Runbook: Scraper failure" in message.text and "1. Look" in message.text
    assert "http://dagster.local/runs/run-7" in message.text
    assert "<li>Look</li>" in message.html and "#d40e0d" in message.html


def test_text_bodies_are_not_html_escaped_and_html_bodies_are() -> None:
    raw = alert_json(1, "acl_web_conferences", summary="count < 10 & falling")
    message = messages.render("firing", payload("firing", [raw]))
    assert "count < 10 & falling" in message.text
    assert "count &lt; 10 &amp; falling" in message.html


def test_a_resolved_message_says_how_long_it_lasted() -> None:
    raw = alert_json(1, "elra_conferences", resolved_at=T0.isoformat(), duration_s=2 * 3600 + 300)
    message = messages.render("resolved", payload("resolved", [raw]))
    assert message.subject == "[WARNING] Resolved: Run failed on elra_conferences after 2 h 5 min"
    assert "Lasted: 2 h 5 min" in message.text
    assert "ConnectionError" not in message.text  # the error is old news


def test_a_resolved_message_gives_the_incidents_duration_not_the_alerts_age() -> None:
    raw = alert_json(1, "elra_conferences", resolved_at=T0.isoformat(), duration_s=4500)
    raw["incident_s"] = 3660  # first failure to recovery; the alert's age (4500 s) is longer
    message = messages.render("resolved", payload("resolved", [raw]))
    assert message.subject == "[WARNING] Resolved: Run failed on elra_conferences after 1 h 1 min"
    assert "Lasted: 1 h 1 min" in message.text and "1 h 15 min" not in message.text


@pytest.mark.parametrize(
    ("event", "headline"),
    [("reminder", "Still firing"), ("escalation", "Escalated, not acknowledged")],
)
def test_reminders_and_escalations_say_what_they_are(event: str, headline: str) -> None:
    message = messages.render(event, payload(event, [alert_json(1, "elra_conferences")]))
    assert message.subject.startswith(f"[WARNING] {headline}: Run failed")


def test_a_storm_of_500_alerts_lists_twenty_and_counts_the_rest() -> None:
    alerts = [alert_json(i, f"source_{i:03d}") for i in range(500)]
    message = messages.render("firing", payload("firing", alerts))
    assert message.template_set == "grouped"
    assert message.subject == (
        "[WARNING] Firing: Run failed on 500 sources (source_000, source_001, source_002 "
        "and 497 more)"
    )
    listed = [line for line in message.text.splitlines() if line.startswith("- source_")]
    assert len(listed) == messages.MAX_LISTED
    assert "... and 480 more" in message.text
    assert "source_019" in message.html and "source_020" not in message.html
    assert "and 480 more" in message.html
    assert len(message.text) < 6000 and len(message.sources) == 500


def test_a_grouped_message_takes_the_highest_severity() -> None:
    alerts = [alert_json(1, "a"), alert_json(2, "b", severity="critical")]
    assert messages.render("firing", payload("firing", alerts)).severity == "critical"


def test_a_silence_reminder_goes_to_its_author() -> None:
    message = messages.render(
        "silence_expiring",
        {
            "to": "ana@example.com",
            "silence": {"id": 3, "comment": "elra site migration"},
            "ends_at": "2026-11-03T10:00:00+00:00",
        },
    )
    assert message.recipients == ["ana@example.com"]
    assert "elra site migration" in message.subject and "elra site migration" in message.text


def test_the_daily_report_set_renders_for_email_and_slack() -> None:
    report = {
        "title": "ConfRadar daily report",
        "date": "2026-11-02",
        "url": "http://localhost:8000/reports/daily/2026-11-02/",
        "lines": ["5 sources, 4 green", "1 alert fired"],
    }
    message = messages.render(NotificationEvent.DAILY_REPORT, report)
    assert message.subject == "ConfRadar daily report for 2026-11-02"
    assert "- 1 alert fired" in message.text and "<li>1 alert fired</li>" in message.html
    assert "<http://localhost:8000/reports/daily/2026-11-02/|Full report>" in message.slack_text


@pytest.mark.django_db
def test_the_policy_snapshots_the_error_and_the_runbook_steps() -> None:
    AlertRule.objects.all().delete()
    runbook = Runbook.objects.create(slug="elra-outage", title="Scraper failure", body=RUNBOOK)
    rule = f.rule("Run failed", "run_failed", runbook=runbook)
    elra = f.source("elra_conferences", f.deployment())
    alert = f.alert(rule, elra, T0, error="ConnectionError: HTTP 503 from elra.info")
    snapshot = policy.payload("firing", rule, [alert], T0 + timedelta(minutes=1))
    assert snapshot["alerts"][0]["error"] == "ConnectionError: HTTP 503 from elra.info"
    assert snapshot["runbook"]["steps"][0].startswith("Open the Dagster run")
    runbook.body = "- changed"
    runbook.save()
    message = messages.render("firing", snapshot)
    assert message.runbook is not None and len(message.runbook.steps) == 3


@pytest.mark.django_db
def test_a_source_runbook_is_used_when_the_rule_has_none() -> None:
    AlertRule.objects.all().delete()
    Runbook.objects.create(slug="elra", title="ELRA scraper", body="1. Check elra.info")
    rule = f.rule("Run failed", "run_failed")
    elra = f.source("elra_conferences", f.deployment(), runbook_slug="elra")
    snapshot = policy.payload("firing", rule, [f.alert(rule, elra, T0)], T0)
    assert snapshot["runbook"] == {
        "slug": "elra",
        "title": "ELRA scraper",
        "steps": ["Check elra.info"],
    }


FACTS: dict[str, Any] = {
    "since": (T0 - timedelta(hours=3)).isoformat(),
    "last_success_at": (T0 - timedelta(days=1)).isoformat(),
    "failed_runs": 3,
    "deployment": "confradar",
    "downstream": ["conferences", "website_export"],
    "downstream_more": 2,
}


def test_a_firing_message_says_since_last_success_failed_runs_deployment_and_downstream() -> None:
    message = messages.render("firing", payload("firing", [alert_json(7, "elra", **FACTS)]))
    since, last = messages.moment(FACTS["since"]), messages.moment(FACTS["last_success_at"])
    for body in (message.text, message.html):
        assert f"Since{': ' if body is message.text else '</td><td>'}{since}" in body
        assert f"{last} (3 failed runs since)" in body
        assert "confradar" in body
        assert "conferences, website_export and 2 more" in body
    assert "Last success: " in message.text and "Deployment: confradar" in message.text
    assert "Downstream: conferences, website_export and 2 more" in message.text


def test_a_source_that_never_succeeded_says_so() -> None:
    raw = alert_json(7, "elra", **{**FACTS, "last_success_at": None, "failed_runs": 1})
    message = messages.render("firing", payload("firing", [raw]))
    assert "Last success: never (1 failed run since)" in message.text


def test_a_grouped_message_gives_each_member_its_facts() -> None:
    alerts = [alert_json(1, "elra", **FACTS), alert_json(2, "acl")]
    message = messages.render("firing", payload("firing", alerts))
    line = message.alerts[0].facts_line
    assert line.startswith("since ") and "3 failed runs" in line and "deployment confradar" in line
    assert f"\n  {line}\n" in message.text and message.alerts[1].facts_line == ""
    assert "downstream conferences, website_export and 2 more" in message.html


def test_a_resolved_message_leaves_the_facts_out() -> None:
    raw = alert_json(1, "elra", resolved_at=T0.isoformat(), duration_s=60, **FACTS)
    message = messages.render("resolved", payload("resolved", [raw]))
    assert "Since" not in message.text and "failed runs" not in message.html


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("event", ["firing", "reminder", "escalation", "resolved"])
def test_a_row_stored_before_the_facts_renders_as_before(event: str, count: int) -> None:
    old = [alert_json(i, f"src_{i}") for i in range(count)]
    message = messages.render(event, payload(event, old))
    assert all(a.facts_line == "" for a in message.alerts)
    assert "Since" not in message.text and "Last success" not in message.text
    assert "Deployment" not in message.html and "Downstream" not in message.html
    if count == 1 and event == "firing":
        assert message.text == (
            "Firing: Run failed on src_0\nSeverity: warning\n\nsrc_0 failed: HTTP 503\n\n"
            "Error:\nConnectionError: HTTP 503 Service Unavailable\n  at fetch()\n\n"
            "Acknowledge: http://localhost:8000/alerts/0/\n"
            "Dagster run: http://dagster.local/runs/run-0\n\n"
            "Runbook: Scraper failure (http://localhost:8000/runbooks/scraper-failure/)\n"
            "  1. Look\n"
        )


def test_a_hostile_downstream_key_and_error_are_escaped_in_html_and_plain_in_text() -> None:
    hostile = "<script>alert(1)</script> & co"
    raw = alert_json(1, "elra", error=hostile, **{**FACTS, "downstream": [hostile]})
    message = messages.render("firing", payload("firing", [raw]))
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co and 2 more" in message.html
    assert f"Downstream: {hostile} and 2 more" in message.text


def test_runbook_steps_are_plain_text_with_absolute_links(settings: Any) -> None:
    settings.CONFOPS_BASE_URL = "https://ops.example.com"
    steps = [
        "See [Volume drop](/runbooks/volume-drop/), then re-run `crawl_job` **now**.",
        "Read [the notes](notes/) or <https://status.example.com/>.",
        "Never [this](javascript:alert(1)) nor <b>raw</b> HTML.",
    ]
    raw = payload("firing", [alert_json(1, "elra")])
    raw["runbook"]["steps"] = steps
    message = messages.render("firing", raw)
    assert message.runbook is not None
    assert message.runbook.steps == [
        "See Volume drop (https://ops.example.com/runbooks/volume-drop/), then re-run crawl_job "
        "now.",
        "Read the notes (https://ops.example.com/runbooks/scraper-failure/notes/) or "
        "https://status.example.com/.",
        "Never [this](javascript:alert(1)) nor <b>raw</b> HTML.",
    ]
    assert "1. See Volume drop (https://ops.example.com/runbooks/volume-drop/)" in message.text
    assert 'href="https://ops.example.com/runbooks/volume-drop/"' in message.html
    assert "&lt;b&gt;raw&lt;/b&gt;" in message.html and 'href="javascript' not in message.html


def test_a_storm_message_names_its_shared_cause_in_every_format() -> None:
    cause = "same error: ProxyError <b>&</b> *bold*"
    payload = {
        "rule": {"name": "Run failed"},
        "sources": ["a", "b"],
        "incident": {"id": 1, "title": f"2 sources, {cause}", "cause": cause},
        "alerts": [
            {"id": 1, "subject": "a", "severity": "warning", "summary": "a failed"},
            {"id": 2, "subject": "b", "severity": "warning", "summary": "b failed"},
        ],
    }
    message = messages.render("firing", payload)
    assert message.subject == f"[WARNING] Firing: 2 sources, {cause}"
    assert f"Shared cause: {cause}" in message.text
    assert "Shared cause: same error: ProxyError &lt;b&gt;&amp;&lt;/b&gt; *bold*" in message.html
    blocks = json.dumps(slack.alert_blocks(message, ""))
    assert "*Shared cause:* same error: ProxyError &lt;b&gt;&amp;&lt;/b&gt;" in blocks
