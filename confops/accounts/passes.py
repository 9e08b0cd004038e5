"""One periodic pass per interval, however many beats send it: a claim in the database.

Two ``celery beat`` processes started by mistake, or a beat restarted on another host while the
old one lives, each send every entry; the broker may deliver a message twice. A task that beat
sent claims its pass here first and does nothing when another caller claimed it: a conditional
UPDATE (compare-and-swap) on ``PassClaim.next_due_at``, which SQLite and PostgreSQL both make
atomic, so exactly one of any number of racing callers wins per interval (tests/accounts/
test_passes.py races them on PostgreSQL).

Why a claim and not celery-redbeat (docs/architecture.md, "One scheduler"): redbeat keeps the
schedule and its lock in Redis, which the embedded mode does not run, and replaces
django-celery-beat's DatabaseScheduler, whose schedule an admin retunes in the admin. A lock on
the scheduler also leaves a task the broker delivers twice running twice; the claim, taken by the
task itself, does not. It needs no server beyond the database confops already has.

The claim keeps a pass from running again for three quarters of its interval: beat's own
jitter and a queue's delay up to a quarter interval never cost a pass, and two beats out of phase
settle on one pass per interval (the later beat's sends lose, or take over once when it leads).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django_celery_beat.models import PeriodicTask

from confops.accounts.models import PassClaim

# The part of an interval a pass may come early and still be the next pass, not a second one.
EARLY_FRACTION = 0.25
# Beat names the entry that sent a task in this message header (django-celery-beat's ModelEntry).
ENTRY_HEADER = "periodic_task_name"


def claim_pass(name: str, now: datetime, interval: timedelta) -> bool:
    """Whether this caller runs pass ``name`` now: True for one caller per interval."""
    until = now + interval * (1 - EARLY_FRACTION)
    if not PassClaim.objects.filter(name=name).exists():
        try:
            with transaction.atomic():
                PassClaim.objects.create(name=name, next_due_at=until, claimed_at=now, passes=1)
            return True
        except IntegrityError:  # another caller created it first, and so won this pass
            return False
    won = PassClaim.objects.filter(name=name, next_due_at__lte=now).update(
        next_due_at=until, claimed_at=now, passes=F("passes") + 1
    )
    return won == 1


def claim_beat_pass(request: Any, now: datetime) -> bool:
    """A task's claim on its pass when beat sent it; a run asked for by hand (a command, a test,
    ``.delay()``) is a deliberate extra pass and always runs, as does an entry deleted since."""
    entry = beat_entry_name(request)
    if entry is None:
        return True
    interval = beat_interval(entry, now)
    return interval is None or claim_pass(entry, now, interval)


def beat_entry_name(request: Any) -> str | None:
    """The beat entry that sent this task, from its message header (None when not beat)."""
    name = getattr(request, ENTRY_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        ENTRY_HEADER
    )
    return str(name) if name else None


def beat_interval(entry: str, now: datetime) -> timedelta | None:
    """The entry's interval as stored now (an admin may have retuned it); for a crontab, the
    time from ``now`` to its next run. None for an entry that is gone."""
    task = PeriodicTask.objects.filter(name=entry).select_related("interval", "crontab").first()
    if task is None:
        return None
    if task.interval is not None:
        return timedelta(**{task.interval.period: task.interval.every})
    if task.crontab is not None:
        # remaining_delta counts from ``now`` (remaining_estimate would read the clock).
        start, delta, _ = task.crontab.schedule.remaining_delta(now)
        next_run: datetime = start + delta
        return next_run - now
    return None
