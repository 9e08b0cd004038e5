"""The default Celery beat schedule, loaded into django-celery-beat's tables.

Defaults live in code; once loaded they belong to the admin, so a re-run never overwrites an
entry an operator retuned or disabled. Each entry's description ends with the default it was
loaded from (``[default: daily 07:00 UTC]``): while its schedule still equals that, nobody retuned
it, so a changed default (``REPORT_SEND_AT``, ``REPORT_TIME_ZONE``...) moves it on the next
migrate; a retuned entry stays as it is, with a warning when the default moved.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from django_celery_beat.models import PeriodicTask

logger = logging.getLogger(__name__)
MARKER = re.compile(r"\s*\[default: (?P<schedule>[^\]]*)\]\s*$")


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
            name="alerts: reconcile two-way channels",
            task="alerts.reconcile_mirrors",
            every_seconds=60,
            description="Tells PagerDuty and Slack what closed or was acknowledged while they "
            "were unreachable and the outbox gave up (alerts/engine/reconcile.py).",
        ),
        # Poll records too (their entry "monitoring: prune poll records" of older installs may
        # stay: it deletes what this one left, in one statement).
        BeatEntry(
            name="confops: prune history",
            task="confops.prune_history",
            every_seconds=3600,
            description="Deletes runs, events, check results, poll records and sent notifications "
            "past their retention, in short batches (docs/storage.md).",
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
    """Create missing default entries and move untouched ones to changed defaults; return the
    names created."""
    from django_celery_beat.models import PeriodicTask

    created: list[str] = []
    for entry in default_entries():
        task = PeriodicTask.objects.filter(name=entry.name).first()
        if task is not None:
            follow_default(task, entry)
            continue
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            description=marked(entry.description, default_text(entry)),
            enabled=True,
            **schedule_of(entry),
        )
        created.append(entry.name)
    return created


def follow_default(task: PeriodicTask, entry: BeatEntry) -> None:
    """Give ``task`` the entry's current default unless an operator changed its schedule."""
    wanted, stored = default_text(entry), stored_text(task)
    match = MARKER.search(task.description)
    loaded_from = match["schedule"] if match else None
    if stored != wanted and loaded_from != stored:
        # Retuned in the admin (or loaded before the markers existed, which cannot be told
        # apart): left alone, with a word when the default it was loaded from has moved.
        if loaded_from != wanted:
            logger.warning(
                "beat entry %r runs %s but the settings now say %s; it was changed in the "
                "admin, so it is left as it is: retune it there",
                entry.name,
                stored,
                wanted,
            )
        return
    if stored != wanted:
        task.interval = task.crontab = None
        for field, value in schedule_of(entry).items():
            setattr(task, field, value)
        logger.info("beat entry %r moved from %s to %s", entry.name, stored, wanted)
    if loaded_from != wanted:
        task.description = marked(task.description, wanted)
        task.save()


def marked(description: str, schedule: str) -> str:
    return f"{MARKER.sub('', description)} [default: {schedule}]"


def default_text(entry: BeatEntry) -> str:
    if entry.daily_at:
        hour, minute = (int(part) for part in entry.daily_at.split(":"))
        return f"daily {hour:02d}:{minute:02d} {entry.timezone}"
    return f"every {entry.every_seconds} seconds"


def stored_text(task: PeriodicTask) -> str:
    """The task's schedule in ``default_text``'s words, to compare the two."""
    crontab, interval = task.crontab, task.interval
    if crontab is not None:
        fields = (crontab.minute, crontab.hour)
        rest = (crontab.day_of_month, crontab.month_of_year, crontab.day_of_week)
        if all(f.isdigit() for f in fields) and rest == ("*", "*", "*"):
            return f"daily {int(crontab.hour):02d}:{int(crontab.minute):02d} {crontab.timezone}"
        return f"crontab {' '.join((*fields, *rest))} {crontab.timezone}"
    if interval is not None:
        return f"every {interval.every} {interval.period}"
    return "a clocked or solar schedule"


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
