"""The default Celery beat schedule, loaded into django-celery-beat's tables.

Defaults live in code; once loaded they belong to the admin, so a re-run never overwrites an
entry an operator retuned or disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class BeatEntry:
    """Every ``every_seconds``, or (``daily_at``, "HH:MM") once a day in ``timezone``."""

    name: str
    task: str
    every_seconds: int | None
    description: str
    daily_at: str = ""
    timezone: str = "UTC"


def default_entries() -> list[BeatEntry]:
    return [
        BeatEntry(
            name="confops: heartbeat",
            task="confops.heartbeat",
            every_seconds=settings.HEARTBEAT_INTERVAL_SECONDS,
            description="Proves beat, broker and a worker are alive (read by /health/detailed).",
        ),
        BeatEntry(
            name="monitoring: poll due deployments",
            task="monitoring.poll_due_deployments",
            every_seconds=1,
            description="Starts one poll task per enabled deployment whose interval is due.",
        ),
        BeatEntry(
            name="alerts: evaluate all",
            task="alerts.evaluate_all",
            every_seconds=15,
            description="Every rule on every source (staleness, outages), reminders, escalations.",
        ),
        BeatEntry(
            name="alerts: sweep notifications",
            task="alerts.sweep_notifications",
            every_seconds=10,
            description="Re-queues due notifications and those whose worker died mid-send.",
        ),
        BeatEntry(
            name="monitoring: prune poll records",
            task="monitoring.prune_poll_records",
            every_seconds=3600,
            description="Deletes poll records older than POLL_RECORD_RETENTION_HOURS.",
        ),
        BeatEntry(
            name="reports: send the daily report",
            task="reports.send_daily_report",
            every_seconds=None,
            daily_at=settings.REPORT_SEND_AT,
            timezone=settings.REPORT_TIME_ZONE,
            description="Generates yesterday's report and sends it once (docs/reports.md).",
        ),
    ]


def load_default_schedule(**_: object) -> list[str]:
    """Create missing default entries; return the names created."""
    from django_celery_beat.models import PeriodicTask

    created: list[str] = []
    for entry in default_entries():
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            description=entry.description,
            enabled=True,
            **schedule_of(entry),
        )
        created.append(entry.name)
    return created


def schedule_of(entry: BeatEntry) -> dict[str, Any]:
    """The entry's interval, or its daily crontab (a time of day in a time zone)."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    if entry.daily_at:
        hour, minute = (str(int(part)) for part in entry.daily_at.split(":"))
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=entry.timezone,
        )
        return {"crontab": crontab}
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=entry.every_seconds, period=IntervalSchedule.SECONDS
    )
    return {"interval": interval}
