"""``manage.py daily_report [--date D] [--send] [--force] | --so-far``: generate (and send) a
day's report, or today's up to now (what the reports page's button builds)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from reports import sending


class Command(BaseCommand):
    help = "Generate the daily report of a day (default: yesterday) and optionally send it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD (default: yesterday in REPORT_TIME_ZONE)")
        parser.add_argument("--send", action="store_true", help="send it (once per date)")
        parser.add_argument("--force", action="store_true", help="with --send: send again")
        parser.add_argument(
            "--so-far", action="store_true", help="today's report up to now (never sent)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["so_far"]:
            if options["date"] or options["send"]:
                raise CommandError("--so-far builds today's report: no --date, no --send")
            report = sending.build_so_far(now)
            self.stdout.write(f"{report.date} so far: {report.summary['headline']}")
            return
        day = parse_day(options["date"]) if options["date"] else sending.yesterday(now)
        if options["send"]:
            try:
                sending.check_sendable(day, now)
            except sending.DayNotOver as exc:
                raise CommandError(f"--date {day}: {exc}") from None
        report = sending.generate(day, now)
        self.stdout.write(f"{day}: {report.summary['headline']}")
        if options["send"]:
            outcome = sending.send(day, now, force=options["force"], by="manage.py daily_report")
            self.stdout.write(f"{outcome.reason}: {outcome.notifications} messages queued")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date {text!r}: use YYYY-MM-DD") from None
