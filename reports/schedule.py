"""When the next daily report is due, read from the beat entry that builds it.

The entry lives in django-celery-beat's tables (loaded from ``confops/beat.py``'s defaults and
retunable in the admin), so the page reads the table, not the settings: a time an admin moved
is the time shown. ``next_due`` is pure (``now`` given) so tests can cross midnight and zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django_celery_beat.models import PeriodicTask

from confops.common.formatting import span

TASK = "reports.send_daily_report"


@dataclass(frozen=True)
class DailyAt:
    """Once a day at ``hour``:``minute`` on the wall clock of ``time_zone``."""

    hour: int
    minute: int
    time_zone: str


def next_due(now: datetime, schedule: DailyAt) -> datetime:
    """The first run strictly after ``now`` (beat runs at the minute, so ``now`` itself is past)."""
    tz = ZoneInfo(schedule.time_zone)
    today = now.astimezone(tz).date()
    for day in (today, today + timedelta(days=1)):
        moment = datetime.combine(day, time(schedule.hour, schedule.minute), tzinfo=tz)
        if moment.astimezone(UTC) > now.astimezone(UTC):  # real time, not wall clock
            return moment
    raise AssertionError("unreachable: tomorrow's run is always after now")


def configured_schedule() -> DailyAt | str:
    """The daily report's beat entry as a ``DailyAt``, or a sentence saying why there is none.

    Without an entry (beat's defaults never loaded) the settings it would be loaded from hold."""
    task = PeriodicTask.objects.filter(task=TASK).select_related("crontab").first()
    if task is None:
        hour, minute = (int(part) for part in settings.REPORT_SEND_AT.split(":"))
        return DailyAt(hour, minute, settings.REPORT_TIME_ZONE)
    if not task.enabled:
        return "not scheduled: the beat entry is disabled (admin → Periodic tasks)"
    crontab = task.crontab
    daily = crontab is not None and (
        crontab.minute.isdigit()
        and crontab.hour.isdigit()
        and (crontab.day_of_month, crontab.month_of_year, crontab.day_of_week) == ("*", "*", "*")
    )
    if crontab is None or not daily:
        return "on the beat entry's own schedule (admin → Periodic tasks)"
    return DailyAt(int(crontab.hour), int(crontab.minute), str(crontab.timezone))


def due_text(now: datetime, schedule: DailyAt | str) -> str:
    """'Next report due: 2026-11-22 07:00 UTC (in 9 h 30 min)' or why it cannot be said."""
    if isinstance(schedule, str):
        return f"Next report: {schedule}"
    due = next_due(now, schedule)
    # In UTC: Python subtracts two times of one zone on the wall clock, blind to a DST change.
    wait = due.astimezone(UTC) - now.astimezone(UTC)
    return f"Next report due: {due:%Y-%m-%d %H:%M} {schedule.time_zone} (in {span(wait)})"
