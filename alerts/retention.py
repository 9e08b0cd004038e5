"""Bounded storage: old history deleted in short batches, keeping what is still read.

It lives in ``alerts`` because what must stay is partly the alerts' (the runs an open alert points
at, the notifications of open alerts and two-way threads) and ``monitoring`` stands below it.
The hourly task, ``manage.py prune_history`` and the tests call ``prune_history``. Each batch is
one DELETE of at most ``batch_size`` rows (and their cascades) in a transaction of its own, so a
hot table is never locked for long; the task stops when its time budget is spent and the next
run goes on. The candidates' conditions are applied again in the DELETE, so a row that became
needed between the two statements (an alert opened on that run) stays. (docs/storage.md)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, Subquery

from alerts.choices import OPEN_STATES, NotificationStatus
from alerts.models import Alert, IncidentMirror, Notification
from monitoring.choices import SUCCESS_OUTCOMES
from monitoring.models import AssetEvent, CheckResult, PollRecord, Run, RunAsset

# Outbox rows that will not be sent again on their own (a failed one can be retried by hand for
# as long as it is kept).
FINISHED_NOTIFICATIONS = (
    NotificationStatus.SENT,
    NotificationStatus.FAILED,
    NotificationStatus.CANCELLED,
)


@dataclass
class PruneReport:
    """Rows deleted (or, in a dry run, that would be) per model label, e.g. ``monitoring.Run``;
    ``complete`` is False when the time budget ran out first."""

    deleted: Counter[str] = field(default_factory=Counter)
    complete: bool = True
    batches: int = 0


def prune_history(
    now: datetime,
    *,
    batch_size: int | None = None,
    budget_seconds: float | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Delete history older than its retention setting, the cheapest tables first.

    ``budget_seconds`` is wall time measured on the monotonic clock (a duration, never compared
    with ``now``); a dry run counts what one unbounded run would delete and deletes nothing."""
    size = batch_size or settings.PRUNE_BATCH_SIZE
    budget = settings.PRUNE_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    report = PruneReport()
    for candidates in prunable(now):
        query = candidates()
        if dry_run:
            count_candidates(query, report)
        elif not delete_in_batches(query, size, deadline, report):
            report.complete = False
            break
    return report


def prunable(now: datetime) -> list[Callable[[], models.QuerySet[Any]]]:
    days = timedelta(days=1)
    return [
        lambda: old_notifications(now - settings.NOTIFICATION_RETENTION_DAYS * days),
        lambda: PollRecord.objects.filter(
            started_at__lt=now - timedelta(hours=settings.POLL_RECORD_RETENTION_HOURS)
        ),
        lambda: old_check_results(now - settings.CHECK_RESULT_RETENTION_DAYS * days),
        lambda: old_events(now - settings.EVENT_RETENTION_DAYS * days),
        lambda: old_runs(now - settings.RUN_RETENTION_DAYS * days),
    ]


def delete_in_batches(
    query: models.QuerySet[Any], size: int, deadline: float, report: PruneReport
) -> bool:
    """Delete ``query``'s rows ``size`` at a time until none is left (True) or the deadline
    passes (False)."""
    while time.monotonic() < deadline:
        ids = list(query.values_list("pk", flat=True)[:size])
        if not ids:
            return True
        with transaction.atomic():
            _, per_model = query.filter(pk__in=ids).delete()
        report.deleted.update(per_model)
        report.batches += 1
        if len(ids) < size:
            return True
    return False


def count_candidates(query: models.QuerySet[Any], report: PruneReport) -> None:
    """What deleting ``query`` would remove, cascades included (a run takes its links, events
    and check results; a notification its delivery attempts)."""
    report.deleted[query.model._meta.label] += query.count()
    for relation in query.model._meta.related_objects:
        if relation.on_delete is models.CASCADE and relation.related_model is not None:
            related = relation.related_model._default_manager.filter(
                **{f"{relation.field.name}__in": query.values("pk")}
            )
            report.deleted[relation.related_model._meta.label] += related.count()


def old_runs(cutoff: datetime) -> models.QuerySet[Run]:
    """Runs created before ``cutoff`` except those still read: the run an open alert names,
    and each source's newest run and newest success (the status grid, staleness and the
    rules' latest sample read them, however old)."""
    newer = RunAsset.objects.filter(
        source=OuterRef("source"), run_created_at__gt=OuterRef("run_created_at")
    )
    newest = ~Exists(newer) | (
        Q(outcome__in=SUCCESS_OUTCOMES) & ~Exists(newer.filter(outcome__in=SUCCESS_OUTCOMES))
    )
    still_read = RunAsset.objects.filter(run=OuterRef("pk")).filter(newest)
    alerted = Alert.objects.filter(state__in=OPEN_STATES, run_id=OuterRef("run_id"))
    return Run.objects.filter(created_at__lt=cutoff).exclude(Exists(still_read) | Exists(alerted))


def old_events(cutoff: datetime) -> models.QuerySet[AssetEvent]:
    """Events before ``cutoff`` older than the newest of their source and kind (the newest
    materialisation or observation of a runless source is its freshness)."""
    newest = AssetEvent.objects.filter(source=OuterRef("source"), kind=OuterRef("kind"))
    return AssetEvent.objects.filter(timestamp__lt=cutoff).filter(
        timestamp__lt=newest_of(newest, "timestamp")
    )


def old_check_results(cutoff: datetime) -> models.QuerySet[CheckResult]:
    """Results before ``cutoff`` older than the newest result of the same check."""
    newest = CheckResult.objects.filter(
        source=OuterRef("source"), check_name=OuterRef("check_name")
    )
    return CheckResult.objects.filter(evaluated_at__lt=cutoff).filter(
        evaluated_at__lt=newest_of(newest, "evaluated_at")
    )


def newest_of(rows: models.QuerySet[Any], time_field: str) -> Subquery:
    """The newest ``time_field`` of ``rows``: a scalar subquery, one seek of the (source, time)
    index per candidate. (An EXISTS of a newer row let PostgreSQL hash the whole table for
    each batch instead: 100 ms at 50,000 events, growing with the table.)"""
    return Subquery(rows.order_by(f"-{time_field}").values(time_field)[:1])


def old_notifications(cutoff: datetime) -> models.QuerySet[Notification]:
    """Finished outbox rows before ``cutoff``, except those about an open alert and the last
    message a two-way thread edits."""
    about_open = Notification.alerts.through.objects.filter(
        notification=OuterRef("pk"), alert__state__in=OPEN_STATES
    )
    threaded = IncidentMirror.objects.filter(last_notification=OuterRef("pk"))
    return Notification.objects.filter(
        created_at__lt=cutoff, status__in=FINISHED_NOTIFICATIONS
    ).exclude(Exists(about_open) | Exists(threaded))
