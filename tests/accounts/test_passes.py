"""One periodic pass per interval, whoever calls: the claim in the database (confops.accounts.
passes). Time is injected; the race runs real threads on the session's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from alerts.tasks import evaluate_all, reconcile_mirrors, sweep_notifications
from confops.accounts.models import PassClaim
from confops.accounts.passes import beat_interval, claim_beat_pass, claim_pass
from confops.tasks import prune_history
from monitoring.tasks import prune_poll_records
from reports.tasks import send_daily_report
from tests.fixtures.races import race

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
FIFTEEN = timedelta(seconds=15)


class BeatRequest:
    """What a task sent by beat finds on ``self.request``: the entry's name in its headers."""

    def __init__(self, entry: str) -> None:
        self.headers = {"periodic_task_name": entry}


@pytest.mark.django_db
def test_two_callers_in_one_interval_make_one_pass() -> None:
    assert claim_pass("evaluate", NOW, FIFTEEN) is True
    assert claim_pass("evaluate", NOW + timedelta(seconds=7), FIFTEEN) is False
    assert claim_pass("evaluate", NOW, FIFTEEN) is False  # the same message delivered twice
    assert PassClaim.objects.get(name="evaluate").passes == 1


@pytest.mark.django_db
def test_the_next_interval_is_a_new_pass() -> None:
    assert claim_pass("evaluate", NOW, FIFTEEN)
    assert claim_pass("evaluate", NOW + FIFTEEN, FIFTEEN)
    assert not claim_pass("evaluate", NOW + FIFTEEN + timedelta(seconds=1), FIFTEEN)
    assert claim_pass("evaluate", NOW + 2 * FIFTEEN, FIFTEEN)
    assert PassClaim.objects.get(name="evaluate").passes == 3


@pytest.mark.django_db
def test_a_pass_that_waited_in_a_queue_does_not_cost_the_next_one() -> None:
    """The previous pass ran 3 s late (a quarter of 15 s is 3.75 s): the next, on time, runs."""
    assert claim_pass("evaluate", NOW + timedelta(seconds=3), FIFTEEN)
    assert claim_pass("evaluate", NOW + FIFTEEN, FIFTEEN)


@pytest.mark.django_db
def test_passes_are_claimed_apart() -> None:
    assert claim_pass("evaluate", NOW, FIFTEEN)
    assert claim_pass("sweep", NOW, timedelta(seconds=10))
    assert not claim_pass("sweep", NOW, timedelta(seconds=10))


@pytest.mark.django_db
def test_two_beats_out_of_phase_settle_on_one_pass_per_interval() -> None:
    """Beat A sends at 0, 15, 30...; beat B 14 s later (it leads once, then A's sends lose)."""
    sends = sorted(
        [NOW + k * FIFTEEN for k in range(20)]
        + [NOW + k * FIFTEEN + timedelta(seconds=14) for k in range(20)]
    )
    won = [at for at in sends if claim_pass("evaluate", at, FIFTEEN)]
    assert won[:2] == [NOW, NOW + timedelta(seconds=14)]  # B, 14 s later, takes over once
    gaps = [(b - a).total_seconds() for a, b in pairwise(won[1:])]
    assert gaps == [15.0] * 19  # then only B's sends run: 21 passes in 20 intervals


@pytest.mark.django_db
def test_a_beat_task_claims_with_its_entry_as_the_admin_tuned_it() -> None:
    entry = "alerts: evaluate all"
    assert beat_interval(entry, NOW) == FIFTEEN  # the default loaded after migrate
    minute, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.filter(name=entry).update(interval=minute)
    request = BeatRequest(entry)
    assert claim_beat_pass(request, NOW)
    assert not claim_beat_pass(request, NOW + timedelta(seconds=30))
    assert claim_beat_pass(request, NOW + timedelta(seconds=60))


@pytest.mark.django_db
def test_the_daily_report_entry_claims_until_its_next_morning() -> None:
    """A crontab's interval is the time to its next run, counted from the injected ``now``."""
    entry = PeriodicTask.objects.get(name="reports: send the daily report")
    crontab = entry.crontab
    assert crontab is not None
    crontab.hour, crontab.minute, crontab.timezone = "7", "0", "UTC"
    crontab.save()
    ran_at = NOW + timedelta(seconds=5)
    assert beat_interval(entry.name, ran_at) == timedelta(hours=24) - timedelta(seconds=5)
    assert claim_beat_pass(BeatRequest(entry.name), ran_at)
    assert not claim_beat_pass(BeatRequest(entry.name), ran_at + timedelta(hours=12))
    assert claim_beat_pass(BeatRequest(entry.name), ran_at + timedelta(days=1))


@pytest.mark.django_db
def test_a_run_asked_for_by_hand_or_from_a_deleted_entry_always_runs() -> None:
    class ByHand:
        headers: dict[str, str] = {}

    assert claim_beat_pass(ByHand(), NOW) and claim_beat_pass(ByHand(), NOW)
    gone = BeatRequest("an entry deleted in the admin")
    assert claim_beat_pass(gone, NOW) and claim_beat_pass(gone, NOW)
    assert not PassClaim.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task", "entry", "skipped"),
    [
        (evaluate_all, "alerts: evaluate all", {}),
        (sweep_notifications, "alerts: sweep notifications", 0),
        (reconcile_mirrors, "alerts: reconcile two-way channels", 0),
        (prune_history, "confops: prune history", {}),
        (prune_poll_records, "monitoring: prune poll records", 0),  # an older install's entry
        (send_daily_report, "reports: send the daily report", "skipped"),
    ],
)
def test_each_periodic_task_runs_once_per_beat_pass(task: Any, entry: str, skipped: Any) -> None:
    """Two sends of one entry in one interval (two beats, or one message delivered twice)."""
    hourly, _ = IntervalSchedule.objects.get_or_create(every=3600, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.get_or_create(name=entry, defaults={"task": task.name, "interval": hourly})
    task.apply(headers={"periodic_task_name": entry}).get()
    second = task.apply(headers={"periodic_task_name": entry}).get()
    assert second == skipped or (isinstance(skipped, str) and second.startswith(skipped))
    assert PassClaim.objects.get(name=entry).passes == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_many_racing_callers_exactly_one_wins_each_interval() -> None:
    """On PostgreSQL, where the callers' UPDATEs truly run at once: the first interval races on
    creating the row, the later ones on the conditional UPDATE."""
    assert connection.vendor == "postgresql"
    for step in range(5):
        now = NOW + step * FIFTEEN
        results = race(8, lambda now=now: claim_pass("evaluate", now, FIFTEEN))
        assert results.count(True) == 1, (step, results)
    assert PassClaim.objects.get(name="evaluate").passes == 5
