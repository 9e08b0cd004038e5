"""Generating a day's report and sending it through the notification outbox.

``generate`` gathers, builds, renders and stores (replacing the day's report). ``send`` makes
sure the report exists, claims a send round on it (a compare-and-swap on ``DailyReport``), and
writes one outbox row per recipient in the same transaction, so sending a date twice writes its
rows once; ``force`` sends again. Delivery is then the alerts outbox's: retries with backoff,
at most one send per row (``alerts/engine/delivery.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from alerts.choices import NotificationEvent
from alerts.models import Channel, Notification
from reports import render
from reports.builder import build_report
from reports.data import gather, window
from reports.models import DailyReport, ReportDistribution
from reports.suggestions import suggest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendOutcome:
    """What a send request did: ``sent`` is False when nothing new was written, with why."""

    report: DailyReport
    generated: bool
    sent: bool
    notifications: int
    reason: str


class DayNotOver(Exception):
    """Refuses to send a day that has not ended: the send would mark it sent, and the full
    report beat builds the next morning could then never be sent."""


def check_sendable(day: date, now: datetime, tz_name: str | None = None) -> None:
    """Raise ``DayNotOver`` unless ``day`` has ended in the report's time zone."""
    tz_name = tz_name or settings.REPORT_TIME_ZONE
    end = window(day, tz_name)[1]
    if now < end:
        raise DayNotOver(
            f"the day has not ended yet in {tz_name}; it can be sent from {end:%Y-%m-%d %H:%M}"
        )


def yesterday(now: datetime, tz_name: str | None = None) -> date:
    """The last full day in the report's time zone."""
    return today(now, tz_name) - timedelta(days=1)


def today(now: datetime, tz_name: str | None = None) -> date:
    """The day under way in the report's time zone."""
    return now.astimezone(ZoneInfo(tz_name or settings.REPORT_TIME_ZONE)).date()


# A send request may have to build a missing report inside a web request: no backtests there.
ON_DEMAND_NOTE = (
    "Threshold suggestions are judged when the daily task builds the report; this report was "
    "built on demand, so none were judged."
)


def generate(
    day: date, now: datetime, tz_name: str | None = None, *, backtests: bool = True
) -> DailyReport:
    """Build and store the report of ``day``, replacing an earlier version of it.

    ``backtests`` False leaves out the threshold suggestions, whose backtests replay history
    in child processes for seconds each: for a report built while someone waits for it."""
    tz_name = tz_name or settings.REPORT_TIME_ZONE
    data = gather(day, tz_name)
    if now < data.end:  # a day under way is reported up to now, not as stale until midnight
        data = replace(data, end=now)
    if backtests:
        data = suggest(data, now, settings.REPORT_BACKTEST_RULES)
    else:
        data = replace(data, suggestions_note=ON_DEMAND_NOTE)
    summary = build_report(data, now).to_json()
    html = render.render_html(summary, email=True)
    text = render.render_text(summary)
    report = DailyReport.store(day, tz_name, window(day, tz_name), now, (summary, html, text))
    logger.info("daily report for %s generated: %s", day, summary["headline"])
    return report


def build_so_far(now: datetime, tz_name: str | None = None) -> DailyReport:
    """Today's report up to ``now``, for a first look before the daily task has run.

    Stored under today's date and partial (``DailyReport.is_partial``): it cannot be sent
    (``check_sendable``), and the daily task after midnight regenerates the day in full. Built
    while someone waits, so without backtests."""
    return generate(today(now, tz_name), now, tz_name, backtests=False)


def send(day: date, now: datetime, *, force: bool = False, by: str = "") -> SendOutcome:
    """Generate the report if needed and write its outbox rows, once per date unless forced.

    Raises ``DayNotOver`` for a day that has not ended yet (it can still be generated)."""
    check_sendable(day, now)
    report = DailyReport.objects.filter(date=day).first()
    generated = report is None
    if report is None:  # not built by the daily task (yet): a send request waits for this one
        report = generate(day, now, backtests=False)
    distribution = ReportDistribution.current()
    channels, addresses = distribution.recipients(), distribution.addresses
    if not distribution.enabled:
        return SendOutcome(report, generated, False, 0, "sending is switched off (distribution)")
    if not channels and not addresses:
        return SendOutcome(report, generated, False, 0, "no recipients: no enabled channel")
    with transaction.atomic():
        if not report.claim_send(now, by or "system", force):
            when = report.sent_at.isoformat() if report.sent_at else "before"
            return SendOutcome(report, generated, False, 0, f"already sent at {when}")
        written = write_outbox(report, channels, addresses, now)
    logger.info(
        "daily report for %s: %d messages queued (round %d)", day, written, report.send_round
    )
    return SendOutcome(report, generated, True, written, "sent")


def write_outbox(
    report: DailyReport, channels: list[Channel], addresses: list[str], now: datetime
) -> int:
    payload = report_payload(report)
    for channel in channels:
        Notification.enqueue(channel, NotificationEvent.DAILY_REPORT, payload, now)
    for address in addresses:
        Notification.enqueue(None, NotificationEvent.DAILY_REPORT, {**payload, "to": address}, now)
    return len(channels) + len(addresses)


def report_payload(report: DailyReport) -> dict[str, Any]:
    """The outbox snapshot (alerts.notify.messages' ``daily_report`` set reads it): the email's
    HTML and text, and the report's figures (its numbers, the lists it shows, its link), which
    each transport lays out its own way (Slack's blocks: alerts/notify/transports/slack.py)."""
    summary = report.summary
    return {
        "event": NotificationEvent.DAILY_REPORT,
        "severity": "critical" if summary["alerts"]["open_critical_count"] else "info",
        "title": "confops daily report",
        "date": summary["day"],
        "headline": summary["headline"],
        "url": render.report_url(summary["day"]),
        "lines": [summary["headline"]],
        "html": report.html,
        "text": report.text,
        "figures": figures(summary),
        "report": {"id": report.pk, "date": summary["day"], "round": report.send_round},
        "overall": summary["overall"],
        "alert_figures": {k: v for k, v in summary["alerts"].items() if k != "open_critical"},
    }


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What a summary message shows: the day, the headline, the key numbers, the worst sources,
    the rules with most messages per incident, the open critical alerts and the link to the
    full report."""
    return {
        "day": summary["day"],
        "time_zone": summary["time_zone"],
        "headline": summary["headline"],
        "url": render.report_url(summary["day"]),
        "overall": summary["overall"],
        "alerts": summary["alerts"],
        "checks": summary["checks"],
        "worst": summary.get("worst", []),
        # Per rule, worst first; absent from a summary stored before the section existed.
        "rule_quality": summary["quality"].get("rules", []),
    }
