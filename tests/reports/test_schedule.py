"""When the next daily report is due: read from beat's entry, counted from a given now."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from reports.schedule import DailyAt, configured_schedule, due_text, next_due

SEVEN_UTC = DailyAt(7, 0, "UTC")
PARIS = ZoneInfo("Europe/Paris")


def test_before_the_hour_the_report_is_due_the_same_day() -> None:
    now = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)
    assert next_due(now, SEVEN_UTC) == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    assert due_text(now, SEVEN_UTC) == "Next report due: 2026-11-22 07:00 UTC (in 1 h 30 min)"


def test_at_or_after_the_hour_it_is_due_the_next_day_across_midnight() -> None:
    assert next_due(datetime(2026, 11, 22, 7, 0, tzinfo=UTC), SEVEN_UTC).day == 23
    now = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    assert due_text(now, SEVEN_UTC) == "Next report due: 2027-01-01 07:00 UTC (in 9 h)"


def test_the_wall_clock_of_the_schedules_zone_decides_the_day() -> None:
    """23:30 UTC is already 00:30 the next day in Paris: 07:00 Paris is six and a half hours on."""
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    due = next_due(now, DailyAt(7, 0, "Europe/Paris"))
    assert due == datetime(2026, 11, 23, 7, 0, tzinfo=PARIS)
    assert due_text(now, DailyAt(7, 0, "Europe/Paris")).endswith(
        "2026-11-23 07:00 Europe/Paris (in 6 h 30 min)"
    )


def test_across_a_clock_change_the_wait_is_real_time() -> None:
    """The night Paris springs forward is an hour shorter: 19:00 to 07:00 is 11 hours."""
    now = datetime(2026, 3, 28, 19, 0, tzinfo=PARIS)
    assert due_text(now, DailyAt(7, 0, "Europe/Paris")).endswith("(in 11 h)")


@pytest.mark.django_db
def test_the_schedule_is_the_beat_entrys_as_retuned_in_the_admin() -> None:
    assert configured_schedule() == SEVEN_UTC  # loaded from the settings' defaults
    entry = PeriodicTask.objects.get(task="reports.send_daily_report")
    entry.crontab = CrontabSchedule.objects.create(minute="15", hour="6", timezone="Asia/Tokyo")
    entry.save()
    assert configured_schedule() == DailyAt(6, 15, "Asia/Tokyo")


@pytest.mark.django_db
def test_a_disabled_or_irregular_entry_is_said_not_guessed() -> None:
    entry = PeriodicTask.objects.get(task="reports.send_daily_report")
    entry.crontab = CrontabSchedule.objects.create(minute="0", hour="7", day_of_week="1-5")
    entry.save()
    assert "own schedule" in due_text(datetime(2026, 11, 22, tzinfo=UTC), configured_schedule())
    entry.enabled = False
    entry.save()
    assert due_text(datetime(2026, 11, 22, tzinfo=UTC), configured_schedule()) == (
        "Next report: not scheduled: the beat entry is disabled (admin → Periodic tasks)"
    )
