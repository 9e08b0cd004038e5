"""The default Celery beat schedule, loaded into django-celery-beat's tables.

Defaults live in code; once loaded they belong to the admin, so a re-run never overwrites an
entry an operator retuned or disabled.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class BeatEntry:
    name: str
    task: str
    every_seconds: int
    description: str


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
    ]


def load_default_schedule(**_: object) -> list[str]:
    """Create missing default entries; return the names created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created: list[str] = []
    for entry in default_entries():
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            interval=interval,
            description=entry.description,
            enabled=True,
        )
        created.append(entry.name)
    return created
