"""What a notification says: one set (subject, text, HTML) per event, the runbook's first steps,
links into confops, and a storm of 500 alerts that stays readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.choices import NotificationEvent, Severity
from alerts.engine import policy
from alerts.models import AlertRule, Runbook
from alerts.notify import links, messages
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
