"""Generating and sending the report: a real SMTP server and a local HTTP server standing in for
Slack receive what the outbox sends; a date is sent once unless forced."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from alerts.choices import ChannelKind, NotificationEvent
from alerts.engine import delivery
from alerts.models import Channel, Notification
from monitoring.models import Source
from reports import sending
from reports.models import DailyReport, ReportDistribution
from reports.render import render_html
from reports.tasks import send_daily_report
from tests.alerts import factories as f
from tests.fixtures.http import HttpResponder
from tests.fixtures.smtp import SmtpSink
from tests.reports.quality_day import seed_incidents
from tests.reports.seed import DAY, NOW, at, seed_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(http_responder: HttpResponder, smtp_sink: SmtpSink) -> None:
    http_responder.respond(200, "ok", content_type="text/plain")
    f.channel("ops-email", ChannelKind.EMAIL, config={"to": ["ops@example.com"]}, secret="")
    f.channel("ops-slack", ChannelKind.SLACK, secret=f"{http_responder.url}/services/T/B/x")


def deliver_all() -> list[str]:
    rows = Notification.objects.filter(event=NotificationEvent.DAILY_REPORT).order_by("pk")
    return [delivery.deliver(row.pk, NOW).status for row in rows]


def test_the_email_has_html_and_text_parts_and_no_external_reference(
    admin_user: Any, channels: None, smtp_sink: SmtpSink
) -> None:
    seed_day(admin_user)
    sending.send(DAY, NOW)
    assert "sent" in deliver_all()
    [mail] = smtp_sink.received
    assert mail.rcpt_tos == ["ops@example.com"]
    assert mail.subject.startswith("confops daily report for 2026-11-21: 4 of 6 runs succeeded")
    html, text = mail.part("text/html"), mail.part("text/plain")
    assert (
        "80 %" in html and "gamma" in html and "http://localhost:8000/reports/2026-11-21/" in html
    )
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"<(script|link|img|iframe|object|style)\b", html, re.I)
    assert "url(" not in html and "@import" not in html
    assert "Fresh all day (SLA): 80 % (4 of 5 sources)" in text
    assert "failed 07:00: Timeout after 30 s" in text
    assert "Full report: http://localhost:8000/reports/2026-11-21/" in text


def test_slack_gets_the_documented_blocks_with_a_link(
    admin_user: Any, channels: None, http_responder: HttpResponder
) -> None:
    seed_day(admin_user)
    sending.send(DAY, NOW)
    deliver_all()
    [request] = http_responder.requests
    body = request.json()
    assert "attachments" not in body and body["text"].startswith("confops daily report for")
    blocks = body["blocks"]
    assert [b["type"] for b in blocks] == [
        "header", "section", "section", "section", "section", "actions", "context",
    ]  # fmt: skip
    assert blocks[0]["text"]["text"] == "Daily report · 2026-11-21"
    fields = [field["text"] for field in blocks[2]["fields"]]
    assert "*Fresh all day (SLA)*\n80 % (4/5)" in fields
    assert "*Runs*\n4 succeeded · 2 failed" in fields
    assert blocks[3]["text"]["text"].startswith(
        "*Worst sources*\n• <http://localhost:8000/sources/"
    )
    assert (
        "gamma" in blocks[4]["text"]["text"]
        and "*Open critical alerts*" in blocks[4]["text"]["text"]
    )
    button = blocks[5]["elements"][0]
    assert button["url"] == "http://localhost:8000/reports/2026-11-21/"


def test_slack_names_the_rules_with_most_messages_per_incident(
    channels: None, http_responder: HttpResponder
) -> None:
    seed_incidents()  # tests/reports/quality_day.py: the same day, its own channels off
    Channel.objects.filter(name__in=["slack", "mail"]).update(enabled=False)
    sending.send(DAY, NOW)
    deliver_all()
    [request] = http_responder.requests
    texts = [b["text"]["text"] for b in request.json()["blocks"] if "text" in b]
    [rules] = [t for t in texts if t.startswith("*Most messages per incident*")]
    assert rules.splitlines()[1:] == [
        "• Run failed: 2.5 messages per incident, 2 incidents, 1 never acknowledged, 50 % flapping",
        "• Stale: 1.5 messages per incident, 2 incidents, 1 never acknowledged, 50 % flapping",
    ]


def test_the_row_carries_figures_and_a_row_stored_with_slack_blocks_sends_the_same(
    admin_user: Any, channels: None, http_responder: HttpResponder
) -> None:
    """Each transport lays out the report's figures; a row written before rows carried figures
    (its Slack blocks rendered when it was written) still sends as it did."""
    seed_day(admin_user)
    sending.send(DAY, NOW)
    row = Notification.objects.get(channel__kind=ChannelKind.SLACK)
    assert "slack_blocks" not in row.payload
    assert row.payload["figures"]["url"] == "http://localhost:8000/reports/2026-11-21/"
    deliver_all()
    [request] = http_responder.requests
    sent = request.json()
    stored_before = {k: v for k, v in row.payload.items() if k != "figures"}
    Notification.enqueue(
        row.channel,
        NotificationEvent.DAILY_REPORT,
        {**stored_before, "slack_blocks": sent["blocks"]},
        NOW,
    )
    deliver_all()
    assert http_responder.requests[1].json() == sent


def test_sending_a_date_twice_sends_once_unless_forced(
    admin_user: Any, channels: None, smtp_sink: SmtpSink, http_responder: HttpResponder
) -> None:
    seed_day(admin_user)
    first = sending.send(DAY, NOW)
    second = sending.send(DAY, NOW)
    assert (first.sent, first.notifications, first.generated) == (True, 2, True)
    assert (second.sent, second.notifications, second.generated) == (False, 0, False)
    assert second.reason.startswith("already sent at 2026-11-22T07:00")
    assert deliver_all() == ["sent", "sent"]
    assert deliver_all() == ["skipped", "skipped"]  # each row is sent at most once
    assert len(smtp_sink.received) == 1 and len(http_responder.requests) == 1
    forced = sending.send(DAY, NOW, force=True)
    assert forced.sent and forced.report.send_round == 2
    assert Notification.objects.filter(event=NotificationEvent.DAILY_REPORT).count() == 4


def test_a_stale_copy_cannot_claim_a_round_already_taken(admin_user: Any, channels: None) -> None:
    seed_day(admin_user)
    report = sending.generate(DAY, NOW)
    stale_copy = DailyReport.objects.get(pk=report.pk)
    assert report.claim_send(NOW, "one", force=True)
    assert not stale_copy.claim_send(NOW, "two", force=True)


def test_extra_addresses_get_their_own_email_and_a_disabled_distribution_sends_nothing(
    admin_user: Any, smtp_sink: SmtpSink
) -> None:
    seed_day(admin_user)
    distribution = ReportDistribution.current()
    distribution.all_channels, distribution.email_to = False, "cto@example.com, cto@example.com"
    distribution.save()
    assert sending.send(DAY, NOW).notifications == 1
    deliver_all()
    assert [m.rcpt_tos for m in smtp_sink.received] == [["cto@example.com"]]
    distribution.enabled = False
    distribution.save()
    outcome = sending.send(DAY, NOW, force=True)
    assert not outcome.sent and "switched off" in outcome.reason


def test_regenerating_a_day_replaces_its_report(admin_user: Any) -> None:
    day = seed_day(admin_user)
    first = sending.generate(DAY, NOW)
    f.run(day.gamma, at(20))  # a late run arrives
    second = sending.generate(DAY, NOW)
    assert DailyReport.objects.count() == 1 and second.pk == first.pk
    second.refresh_from_db()
    assert second.summary["overall"]["runs"] == 7
    assert "5 of 7 runs succeeded" in second.html


def test_a_source_named_like_markup_comes_out_inert(admin_user: Any) -> None:
    source = f.source("<script>alert('x')</script>", f.deployment())
    f.run(source, at(3), ok=False, error="<img src=x onerror=alert(1)> broke")
    Source.objects.filter(pk=source.pk).update(first_seen_at=at(0, -30))
    report = sending.generate(DAY, NOW)
    for html in (report.html, render_html(report.summary, email=False)):
        assert "<script" not in html and "<img" not in html
        assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=alert(1)&gt; broke" in html


def test_the_command_generates_and_sends(admin_user: Any, channels: None, capsys: Any) -> None:
    seed_day(admin_user)
    with time_machine.travel(NOW, tick=False):
        call_command("daily_report", "--date", "2026-11-21", "--send")
    out = capsys.readouterr().out
    assert "2026-11-21: 4 of 6 runs succeeded" in out and "sent: 2 messages queued" in out
    assert DailyReport.objects.get(date=DAY).sent_by == "manage.py daily_report"


def test_the_command_generates_today_but_refuses_to_send_it(
    admin_user: Any, channels: None, capsys: Any
) -> None:
    seed_day(admin_user)
    today = "2026-11-22"  # NOW is 07:00 on it (UTC)
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(CommandError, match="it can be sent from 2026-11-23 00:00"):
            call_command("daily_report", "--date", today, "--send", "--force")
        call_command("daily_report", "--date", today)
        with pytest.raises(sending.DayNotOver, match="has not ended yet in UTC"):
            sending.send(date(2026, 11, 22), NOW)
    assert DailyReport.objects.get().sent_at is None
    assert not Notification.objects.exists()
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert send_daily_report() == "sent"  # beat's run the next morning is not blocked
    assert DailyReport.objects.get(date=date(2026, 11, 22)).sent_by == "beat"


def test_the_distribution_refuses_a_bad_address() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="'ops at example' is not an email address"):
        ReportDistribution(email_to="ok@example.com\nops at example").clean()


def test_a_send_that_builds_a_missing_report_runs_no_backtest(admin_user: Any) -> None:
    """A send request (the API's) waits for the report it builds: the threshold suggestions,
    seconds of replay each, are left to the daily task, and the stored report says so."""
    rule = f.rule("Two in a row", "consecutive_failures", parameters={"failures": 2})
    source = f.source("flaky", f.deployment())
    for hours in (2, 10, 18):  # noisy enough for the daily task to backtest it
        f.alert(rule, source, at(hours)).resolve(at(hours + 1))
    outcome = sending.send(DAY, NOW)
    stored = DailyReport.objects.get(date=DAY).summary["quality"]
    assert outcome.generated and stored["suggestions"] == []
    assert stored["suggestions_note"] == sending.ON_DEMAND_NOTE
