"""Beat's daily entry: a crontab at REPORT_SEND_AT in REPORT_TIME_ZONE, and the task it runs."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from alerts.choices import ChannelKind, NotificationEvent
from alerts.models import Notification
from confops.beat import load_default_schedule
from reports.models import DailyReport
from reports.tasks import send_daily_report
from tests.alerts import factories as f
from tests.reports.seed import DAY, NOW, seed_day

pytestmark = pytest.mark.django_db


def test_the_daily_entry_is_a_crontab_at_seven_utc() -> None:
    entry = PeriodicTask.objects.get(name="reports: send the daily report")
    assert entry.task == "reports.send_daily_report" and entry.interval is None
    crontab = entry.crontab
    assert (crontab.hour, crontab.minute, str(crontab.timezone)) == ("7", "0", "UTC")


def test_the_send_time_and_zone_come_from_the_settings(settings: Any) -> None:
    settings.REPORT_SEND_AT, settings.REPORT_TIME_ZONE = "06:30", "Europe/Paris"
    PeriodicTask.objects.filter(name="reports: send the daily report").delete()
    assert load_default_schedule() == ["reports: send the daily report"]
    crontab = PeriodicTask.objects.get(name="reports: send the daily report").crontab
    assert (crontab.hour, crontab.minute, str(crontab.timezone)) == ("6", "30", "Europe/Paris")


def test_the_task_sends_yesterdays_report_once(admin_user: Any) -> None:
    seed_day(admin_user)
    f.channel("ops-email", ChannelKind.EMAIL, config={"to": ["ops@example.com"]}, secret="")
    with time_machine.travel(NOW, tick=False):
        assert send_daily_report() == "sent"
        assert send_daily_report().startswith("already sent")
    report = DailyReport.objects.get()
    assert report.date == DAY and report.sent_by == "beat"
    assert Notification.objects.filter(event=NotificationEvent.DAILY_REPORT).count() == 1
