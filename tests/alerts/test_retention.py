"""prune_history: what past its retention goes, what is still read stays, in bounded batches."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.choices import AlertState, NotificationEvent, NotificationStatus
from alerts.models import AlertRule, DeliveryAttempt, Notification
from alerts.retention import prune_history
from monitoring.choices import AssetEventKind, CheckSeverity
from monitoring.models import AssetEvent, CheckResult, PollRecord, Run, RunAsset, Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
CHANNELS = itertools.count()


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def now(settings: object) -> datetime:
    """Every stored time is relative to this one ``now``, the only one prune_history sees."""
    settings.RUN_RETENTION_DAYS = 90  # type: ignore[attr-defined]
    settings.EVENT_RETENTION_DAYS = 90  # type: ignore[attr-defined]
    settings.CHECK_RESULT_RETENTION_DAYS = 90  # type: ignore[attr-defined]
    settings.NOTIFICATION_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    settings.POLL_RECORD_RETENTION_HOURS = 48  # type: ignore[attr-defined]
    return timezone.now()


@pytest.fixture
def orders() -> Source:
    return f.source("orders", f.deployment())


def run_ids(source: Source) -> set[str]:
    return set(Run.objects.filter(run_assets__source=source).values_list("run_id", flat=True))


def test_it_deletes_runs_past_retention_with_their_links(now: datetime, orders: Source) -> None:
    old = [f.run(orders, now - days(120)), f.run(orders, now - days(91))]
    recent = f.run(orders, now - days(89))
    latest = f.run(orders, now - days(1))

    report = prune_history(now)

    assert run_ids(orders) == {recent.run_id, latest.run_id}
    assert not RunAsset.objects.filter(run_id__in=[r.pk for r in old]).exists()
    assert report.deleted["monitoring.Run"] == 2
    assert report.deleted["monitoring.RunAsset"] == 2
    assert report.complete


def test_it_keeps_each_sources_newest_run_and_newest_success_however_old(
    now: datetime, orders: Source
) -> None:
    """The status grid and staleness read the last success even when it is a year old."""
    f.run(orders, now - days(400))
    last_success = f.run(orders, now - days(300))
    last_run = f.run(orders, now - days(200), ok=False)

    prune_history(now)

    assert run_ids(orders) == {last_success.run_id, last_run.run_id}


def test_it_keeps_the_run_an_open_alert_points_at(now: datetime, orders: Source) -> None:
    rule = f.rule("Kept by retention", "run_failed")
    alerted = f.run(orders, now - days(100), ok=False)
    forgotten = f.run(orders, now - days(99), ok=False)
    f.run(orders, now - days(1))
    f.alert(rule, orders, now - days(100), run_id=alerted.run_id)
    f.alert(rule, orders, now - days(99), run_id=forgotten.run_id, state=AlertState.RESOLVED)

    prune_history(now)

    assert Run.objects.filter(run_id=alerted.run_id).exists()
    assert not Run.objects.filter(run_id=forgotten.run_id).exists()


def event(source: Source, at: datetime, kind: str = AssetEventKind.MATERIALIZATION) -> AssetEvent:
    return AssetEvent.objects.create(
        source=source, kind=kind, timestamp=at, dagster_timestamp=str(at.timestamp())
    )


def check(source: Source, at: datetime, name: str = "not_empty") -> CheckResult:
    return CheckResult.objects.create(
        source=source, check_name=name, passed=True, severity=CheckSeverity.ERROR, evaluated_at=at
    )


def test_events_and_check_results_keep_the_newest_of_each_kind(
    now: datetime, orders: Source
) -> None:
    replaced, newest = event(orders, now - days(200)), event(orders, now - days(150))
    only_observation = event(orders, now - days(300), AssetEventKind.OBSERVATION)
    recent = event(f.source("customers", orders.deployment), now - days(10))
    old_check, newest_check = check(orders, now - days(120)), check(orders, now - days(100))
    other_check = check(orders, now - days(120), name="unique_ids")

    report = prune_history(now)

    assert set(AssetEvent.objects.values_list("pk", flat=True)) == {
        newest.pk,
        only_observation.pk,
        recent.pk,
    }
    assert not AssetEvent.objects.filter(pk=replaced.pk).exists()
    assert set(CheckResult.objects.values_list("pk", flat=True)) == {
        newest_check.pk,
        other_check.pk,
    }
    assert not CheckResult.objects.filter(pk=old_check.pk).exists()
    assert report.deleted["monitoring.AssetEvent"] == 1
    assert report.deleted["monitoring.CheckResult"] == 1


def outbox_row(at: datetime, status: str, rule: AlertRule | None = None) -> Notification:
    row = Notification.enqueue(
        f.channel(name=f"channel-{next(CHANNELS)}"),
        NotificationEvent.FIRING,
        {},
        at,
        rule=rule,
        send=False,
    )
    Notification.objects.filter(pk=row.pk).update(status=status)
    return row


def test_finished_notifications_go_pending_ones_and_open_alerts_stay(
    now: datetime, orders: Source
) -> None:
    sent = outbox_row(now - days(40), NotificationStatus.SENT)
    DeliveryAttempt.objects.create(notification=sent, number=1, started_at=now - days(40), ok=True)
    failed = outbox_row(now - days(31), NotificationStatus.FAILED)
    pending = outbox_row(now - days(40), NotificationStatus.PENDING)
    recent = outbox_row(now - days(29), NotificationStatus.SENT)
    rule = f.rule("Kept by retention", "run_failed")
    about_open = outbox_row(now - days(40), NotificationStatus.SENT, rule)
    about_open.alerts.set([f.alert(rule, orders, now - days(40))])

    report = prune_history(now)

    kept = set(Notification.objects.values_list("pk", flat=True))
    assert kept == {pending.pk, recent.pk, about_open.pk}
    assert {sent.pk, failed.pk}.isdisjoint(kept)
    assert not DeliveryAttempt.objects.exists()
    assert report.deleted["alerts.Notification"] == 2


def test_poll_records_keep_their_own_retention(now: datetime) -> None:
    deployment = f.deployment()
    for hours in (49, 47):
        PollRecord.objects.create(
            deployment=deployment,
            started_at=now - timedelta(hours=hours),
            duration_ms=10,
            ok=True,
        )

    prune_history(now)

    assert [now - r.started_at for r in PollRecord.objects.all()] == [timedelta(hours=47)]


def test_each_batch_deletes_at_most_batch_size_rows(now: datetime, orders: Source) -> None:
    for age in range(100, 107):
        f.run(orders, now - days(age))
    f.run(orders, now - days(1))

    report = prune_history(now, batch_size=3)

    assert report.deleted["monitoring.Run"] == 7
    assert report.batches == 3  # 3 + 3 + 1
    assert Run.objects.count() == 1


def test_a_spent_budget_stops_before_the_next_batch(now: datetime, orders: Source) -> None:
    f.run(orders, now - days(100))
    f.run(orders, now - days(1))

    report = prune_history(now, budget_seconds=0)

    assert not report.complete
    assert Run.objects.count() == 2


def test_the_dry_run_counts_what_the_command_then_deletes(now: datetime, orders: Source) -> None:
    for age in (120, 110, 100):
        f.run(orders, now - days(age))
    f.run(orders, now - days(1))
    event(orders, now - days(200))
    event(orders, now - days(199))

    dry = prune_history(now, dry_run=True)
    assert Run.objects.count() == 4
    done = prune_history(now)

    assert dry.deleted["monitoring.Run"] == done.deleted["monitoring.Run"] == 3
    assert dry.deleted["monitoring.RunAsset"] == done.deleted["monitoring.RunAsset"] == 3
    assert dry.deleted["monitoring.AssetEvent"] == done.deleted["monitoring.AssetEvent"] == 1


def test_the_command_prints_the_counts_of_a_dry_run(orders: Source) -> None:
    f.run(orders, timezone.now() - days(400))
    f.run(orders, timezone.now() - days(300))
    out = StringIO()

    call_command("prune_history", "--dry-run", stdout=out)

    assert "monitoring.Run: would delete 1" in out.getvalue()
    assert Run.objects.count() == 2
