"""Two real beats by mistake, one worker, on this run's broker (the file-system one in the
embedded pass): one poll per interval and one evaluation per pass, counted from what was stored.

The task ledger (confops/runtime/task_ledger.py) shows both beats sent every entry; the stand-in
Dagster counts the polls it answered; ``PassClaim`` counts the evaluation passes that ran."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from confops.accounts.models import PassClaim
from monitoring.models import Deployment, PollRecord
from tests.fixtures.dagster_standin import dagster_standin
from tests.fixtures.processes import CeleryProcesses, wait_until

pytestmark = pytest.mark.slow

INTERVAL_SECONDS = 2
RUN_SECONDS = 24
EVALUATE = "alerts: evaluate all"


def ledger_lines(folder: Path, pid: int, event: str, task: str) -> int:
    path = folder / f"{pid}.log"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.split()[::2] == [event, task])


def evaluation_passes() -> int:
    claim = PassClaim.objects.filter(name=EVALUATE).first()
    return claim.passes if claim else 0


def test_two_beats_make_one_poll_per_interval_and_one_evaluation_per_pass(
    celery_processes: CeleryProcesses, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    celery_processes.env["TASK_LEDGER_DIR"] = str(ledger)
    every, _ = IntervalSchedule.objects.get_or_create(
        every=INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(name=EVALUATE).update(interval=every)
    with dagster_standin() as standin:
        deployment = Deployment.objects.create(
            name="watched", graphql_url=standin.url, poll_interval_seconds=INTERVAL_SECONDS
        )
        worker = celery_processes.worker()
        first = celery_processes.beat("beat-a")
        second = celery_processes.beat("beat-b")

        def both_beats_send() -> bool:
            return all(
                ledger_lines(ledger, beat.proc.pid, "published", "alerts.evaluate_all")
                for beat in (first, second)
            )

        try:
            wait_until(both_beats_send, timeout=90, what="both beats sending")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None
        passes_before = evaluation_passes()
        polls_before = PollRecord.objects.filter(deployment=deployment).count()
        time.sleep(RUN_SECONDS)
        for beat in (first, second):
            beat.stop()
            celery_processes.started.remove(beat)
        passes = evaluation_passes() - passes_before
        polls = PollRecord.objects.filter(deployment=deployment).order_by("started_at")
        polled_during = polls.count() - polls_before
        time.sleep(2 * INTERVAL_SECONDS)  # the worker runs what the beats left queued
        answered = standin.operations.count("Poll")

    sent = {
        beat.name: ledger_lines(ledger, beat.proc.pid, "published", "alerts.evaluate_all")
        for beat in (first, second)
    }
    ran = ledger_lines(ledger, worker.proc.pid, "ran", "alerts.evaluate_all")
    skipped = worker.log().count("evaluation pass skipped: already claimed")
    figures: dict[str, Any] = {
        "sent": sent,
        "ran": ran,
        "skipped": skipped,
        "passes": passes,
        "polls": polled_during,
    }
    intervals = RUN_SECONDS / INTERVAL_SECONDS
    # Both beats sent all along: about twice as many evaluations were asked for as ran.
    assert min(sent.values()) >= intervals - 2, figures
    assert ran >= sum(sent.values()) - 4, figures  # the worker kept up
    # Every task that ran either evaluated (a claimed pass) or said it skipped.
    assert ran - skipped == evaluation_passes(), figures
    assert intervals - 2 <= passes <= intervals + 2, figures
    assert intervals - 2 <= polled_during <= intervals + 2, figures
    stored = list(polls.values_list("started_at", flat=True))
    assert answered == len(stored), (answered, len(stored))  # every poll stored, none doubled
    gaps = [(b - a).total_seconds() for a, b in pairwise(stored)]
    assert min(gaps) >= INTERVAL_SECONDS / 2, gaps  # never two polls in one interval
    print(figures, f"poll gaps {min(gaps):.2f}-{max(gaps):.2f} s")
