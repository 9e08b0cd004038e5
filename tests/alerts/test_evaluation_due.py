"""The timer pass judges only the sources time may have changed (``alerts.engine.deadlines``):
an idle fleet costs nothing, a deadline is met at the first pass after it, a rule edit makes
every source due, and open alerts still fire, escalate and resolve on time. The kinds' answers
(``RuleKind.next_check``) are checked against their own judgement minute by minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from alerts.choices import AlertState
from alerts.engine import deadlines, evaluation
from alerts.models import Alert, AlertRule, Channel, Notification, SourceCheck
from alerts.rules.base import RunSample, ScheduleSample, SourceHistory, kind
from monitoring.choices import SourceKind
from monitoring.models import Deployment, Source
from tests.alerts import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    with time_machine.travel(T0, tick=True):
        yield


@pytest.fixture(autouse=True)
def no_recheck_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deadlines as the kinds give them; ``test_every_source_is_judged_within_the_cap``
    checks the cap."""
    monkeypatch.setattr(deadlines, "RECHECK_AT_MOST_EVERY", timedelta(days=7))


def timer_pass(now: datetime) -> evaluation.EvaluationResult:
    return evaluation.evaluate_due(now)


def poll(source: Source, now: datetime) -> None:
    """What a poll that stored something for ``source`` does next (``receivers``)."""
    evaluation.evaluate(now, source_ids={source.pk}, record_next_checks=True)


def fleet(count: int, last_success: datetime) -> list[Source]:
    dep = f.deployment()
    return Source.objects.bulk_create(
        Source(
            deployment=dep,
            key=f"asset_{i}",
            slug=f"asset-{i}",
            kind=SourceKind.ASSET,
            first_seen_at=last_success - timedelta(days=1),
            last_success_at=last_success,
        )
        for i in range(count)
    )


def test_an_idle_fleet_costs_no_source_per_pass() -> None:
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    f.rule("Missed schedule", "missed_schedule")
    f.rule("Never finished", "run_never_finished")
    fleet(2000, T0)
    first = timer_pass(T0 + f.minutes(1))
    assert first.sources == 2000  # no source had a deadline yet
    for minute in range(2, 9):
        assert timer_pass(T0 + f.minutes(minute)).sources == 0
    assert not Alert.objects.exists()


def test_a_stale_deadline_is_judged_at_the_first_pass_after_it() -> None:
    f.rule("Stale", "stale", parameters={"max_age_hours": 2, "grace_minutes": 0})
    [source] = fleet(1, T0)
    deadline = T0 + timedelta(hours=2)
    assert timer_pass(T0 + f.minutes(1)).sources == 1
    assert SourceCheck.objects.get().next_check_at == deadline
    assert timer_pass(deadline - f.minutes(1)).sources == 0
    assert timer_pass(deadline).sources == 1  # due; not yet stale (stale after the deadline)
    assert not Alert.objects.exists()
    assert timer_pass(deadline + f.minutes(1)).sources == 1
    alert = Alert.objects.get(source=source)
    assert alert.state == AlertState.FIRING and alert.condition_since == deadline


def test_a_poll_moves_the_deadline() -> None:
    f.rule("Stale", "stale", parameters={"max_age_hours": 2, "grace_minutes": 0})
    source = f.source("elra_conferences", f.deployment(), first_seen_at=T0 - timedelta(days=1))
    f.run(source, T0)
    poll(source, T0 + f.minutes(1))
    assert SourceCheck.objects.get().next_check_at == T0 + timedelta(hours=2)
    f.run(source, T0 + timedelta(hours=1))
    poll(source, T0 + timedelta(hours=1, minutes=1))
    assert SourceCheck.objects.get().next_check_at == T0 + timedelta(hours=3)
    assert timer_pass(T0 + timedelta(hours=2, minutes=30)).sources == 0


def test_a_rule_edit_makes_every_source_due() -> None:
    rule = f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    fleet(50, T0)
    timer_pass(T0 + f.minutes(1))
    assert timer_pass(T0 + f.minutes(2)).sources == 0
    rule.parameters = {"max_age_hours": 1, "grace_minutes": 0}
    rule.save()
    assert timer_pass(T0 + f.minutes(3)).sources == 50
    assert timer_pass(T0 + timedelta(hours=1, minutes=1)).sources == 50
    assert Alert.objects.filter(state=AlertState.FIRING).count() == 50


def test_unpausing_a_source_makes_it_due() -> None:
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    [source, _] = fleet(2, T0 - timedelta(days=3))
    Source.objects.filter(pk=source.pk).update(paused=True)
    timer_pass(T0 + f.minutes(1))
    assert Alert.objects.count() == 1
    assert timer_pass(T0 + f.minutes(2)).sources == 1  # the open alert's source only
    source.refresh_from_db()
    source.paused = False
    source.save()
    assert timer_pass(T0 + f.minutes(3)).sources == 2
    assert Alert.objects.count() == 2


def test_an_open_alert_still_fires_and_resolves_on_time() -> None:
    f.rule(
        "Stale",
        "stale",
        [f.channel()],
        parameters={"max_age_hours": 1, "grace_minutes": 0},
        pending_minutes=5,
        resolve_hold_minutes=10,
    )
    source = f.source("elra_conferences", f.deployment(), first_seen_at=T0 - timedelta(days=1))
    f.run(source, T0)
    quiet = f.source("quiet", f.deployment(name="other"), first_seen_at=T0)
    f.run(quiet, T0 + timedelta(hours=1))
    timer_pass(T0 + f.minutes(1))
    late = T0 + timedelta(hours=1, minutes=1)
    assert timer_pass(late).sources == 1
    alert = Alert.objects.get()
    assert alert.state == AlertState.PENDING
    assert timer_pass(late + f.minutes(3)).sources == 1  # pending: judged every pass
    assert Alert.objects.get().state == AlertState.PENDING
    timer_pass(late + f.minutes(4))  # 5 minutes after the deadline it was stale from
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING and alert.fired_at == late + f.minutes(4)
    recovered = late + f.minutes(20)
    f.run(source, recovered)
    poll(source, recovered)
    alert.refresh_from_db()
    assert alert.clear_since == recovered
    assert timer_pass(recovered + f.minutes(9)).sources == 1  # holding: judged every pass
    timer_pass(recovered + f.minutes(10))
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_at == recovered + f.minutes(10)
    assert timer_pass(recovered + f.minutes(11)).sources == 0


def test_every_source_is_judged_within_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadlines, "RECHECK_AT_MOST_EVERY", timedelta(minutes=10))
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    fleet(3, T0)
    timer_pass(T0)
    assert timer_pass(T0 + f.minutes(9)).sources == 0
    assert timer_pass(T0 + f.minutes(10)).sources == 3


def test_judging_after_a_poll_that_fails_leaves_the_sources_to_the_timer() -> None:
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    sources = fleet(3, T0)
    timer_pass(T0 + f.minutes(1))
    deadlines.make_due([sources[0].pk])
    assert timer_pass(T0 + f.minutes(2)).sources == 1


def test_due_and_full_passes_find_the_same_alerts() -> None:
    """14 hours of passes every 10 minutes over sources that succeed, fail, go quiet, miss
    their schedule and hang: the due-only timer and judging everything every pass agree."""
    due_only = day(timer_pass)
    for model in (Notification, Alert, Source, Deployment, AlertRule, Channel):
        model.objects.all().delete()
    everything = day(evaluation.evaluate)
    assert due_only == everything
    assert {row[0] for row in due_only} >= {"Stale", "Stale fixed", "Missed", "Never finished"}


def day(judge: Any) -> list[tuple[Any, ...]]:
    dep = f.deployment()
    f.rule("Stale", "stale", [f.channel()], parameters={"grace_minutes": 10})
    f.rule("Stale fixed", "stale", parameters={"max_age_hours": 3, "grace_minutes": 0})
    f.rule("Missed", "missed_schedule", parameters={"grace_minutes": 20})
    f.rule("Never finished", "run_never_finished", parameters={"max_hours": 2})
    f.rule("Run failed", "run_failed", resolve_hold_minutes=15)
    hourly = f.source("hourly", dep, first_seen_at=T0 - timedelta(days=2))
    pushed = f.source("pushed", None, first_seen_at=T0 - timedelta(days=2))
    pushed.expected_cron = "15 */2 * * *"
    pushed.save()
    for hour in range(1, 5):
        f.run(hourly, T0 - timedelta(hours=hour))
        f.run(pushed, T0 - timedelta(hours=2 * hour, minutes=-16))
    for step in range(0, 14 * 6):
        at = T0 + timedelta(minutes=10 * step)
        if at.hour < 8 and at.minute == 0:
            f.run(hourly, at, ok=at.hour != 4)
            poll(hourly, at)
        if at.hour == 10 and at.minute == 20:
            hung = f.run(pushed, at)
            hung.status, hung.ended_at = "STARTED", None
            hung.save()
            poll(pushed, at)
        judge(at)
    return sorted(
        Alert.objects.values_list(
            "rule__name", "source__key", "state", "opened_at", "fired_at", "resolved_at"
        )
    )


# --- each kind's answer against its own judgement, minute by minute -----------------------


def history(**fields: Any) -> SourceHistory:
    fields.setdefault("source_id", 1)
    fields.setdefault("key", "elra")
    fields.setdefault("kind", "asset")
    fields.setdefault("deployment_id", 1)
    fields.setdefault("group", "")
    fields.setdefault("tags", {})
    fields.setdefault("first_seen_at", T0 - timedelta(days=30))
    fields.setdefault("runs", ())
    fields.setdefault("last_success_at", None)
    fields.setdefault("last_failure_at", None)
    return SourceHistory(**fields)


def success(at: datetime, seconds: float = 60) -> RunSample:
    return RunSample(
        run_id=f"r{at:%d%H%M}",
        status="SUCCESS",
        outcome="materialized",
        started_at=at - timedelta(seconds=seconds),
        ended_at=at,
        duration_s=seconds,
    )


def started(at: datetime) -> RunSample:
    return RunSample(
        run_id=f"open{at:%d%H%M}",
        status="STARTED",
        outcome="planned",
        started_at=at,
        ended_at=None,
        duration_s=None,
    )


def judgement(kind_name: str, h: SourceHistory, params: Any, now: datetime) -> Any:
    found = kind(kind_name).evaluate_source(h, params, now)
    if found is None:
        return None
    details = {k: v for k, v in found.details.items() if k != "age_hours"}
    return (found.since, found.run_id, details.get("expected_at"), found.severity)


def assert_nothing_changes_before_next_check(
    kind_name: str, h: SourceHistory, raw_params: dict[str, Any], hours: int = 30
) -> int:
    """At every minute, the judgement stays what it is until the kind's ``next_check``."""
    impl = kind(kind_name)
    params = impl.parse_params(raw_params)
    checks = 0
    now = T0
    while now < T0 + timedelta(hours=hours):
        at = impl.next_check(h, params, now)
        seen = judgement(kind_name, h, params, now)
        probe = now + timedelta(minutes=1)
        while at is not None and probe < min(at, now + timedelta(hours=hours)):
            assert judgement(kind_name, h, params, probe) == seen, (now, probe, at)
            probe += timedelta(minutes=1)
        if at is None:
            for later in range(1, 24 * 60, 7):
                probe = now + timedelta(minutes=later)
                assert judgement(kind_name, h, params, probe) == seen, (now, probe)
            return checks
        checks += 1
        now = max(at, now + timedelta(minutes=1))
    return checks


HOURLY = ScheduleSample("hourly", "0 * * * *", "UTC", True)
WEEKDAYS = ScheduleSample("weekdays", "30 6 * * 1-5", "Europe/Paris", True)
EVERY_2_MIN = ScheduleSample("fast", "*/2 * * * *", "UTC", True)


@pytest.mark.parametrize(
    ("schedules", "runs"),
    [
        ((HOURLY,), (success(T0 - timedelta(minutes=59)),)),
        ((HOURLY, WEEKDAYS), ()),
        ((EVERY_2_MIN,), (success(T0 + timedelta(minutes=3)),)),
        ((ScheduleSample("stopped", "0 * * * *", "UTC", False),), ()),
    ],
)
def test_missed_schedule_answers_when_its_judgement_can_change(
    schedules: tuple[ScheduleSample, ...], runs: tuple[RunSample, ...]
) -> None:
    h = history(schedules=schedules, runs=runs)
    assert_nothing_changes_before_next_check("missed_schedule", h, {"grace_minutes": 30}, 12)


@pytest.mark.parametrize(
    ("raw", "h"),
    [
        ({"max_age_hours": 2, "grace_minutes": 0}, history(last_success_at=T0)),
        ({}, history(runs=tuple(success(T0 - timedelta(hours=2 * i)) for i in range(6)))),
        ({}, history(schedules=(HOURLY,), runs=(success(T0 - timedelta(minutes=30)),))),
        ({}, history(first_seen_at=T0 - timedelta(hours=3))),
    ],
)
def test_stale_answers_when_its_judgement_can_change(raw: dict[str, Any], h: SourceHistory) -> None:
    assert assert_nothing_changes_before_next_check("stale", h, raw) >= 1


def test_run_kinds_answer_when_an_open_run_crosses_its_limit() -> None:
    hung = history(runs=(started(T0 + timedelta(minutes=10)), success(T0 - timedelta(hours=1))))
    assert_nothing_changes_before_next_check("run_never_finished", hung, {"max_hours": 2}, 4)
    slow = history(
        runs=(started(T0), *(success(T0 - timedelta(hours=i), 600) for i in range(1, 8)))
    )
    assert_nothing_changes_before_next_check("duration", slow, {}, 4)
    assert kind("run_never_finished").next_check(history(), Any, T0) is None


def test_every_time_based_kind_says_when_or_every_pass() -> None:
    """A kind that keeps the default answer is judged every pass: slower, never late."""
    rule = AlertRule(name="x", kind="run_stuck")
    assert rule.kind_impl.next_check(history(), rule.params(), T0) == T0
