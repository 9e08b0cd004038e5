"""Failure and recovery per partition: a success of partition Q never resolves the failure of
partition P; a backfill failing many partitions of one asset is one incident and one page that
lists them; an unpartitioned source is judged as before (tests/alerts/test_evaluation.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.choices import AlertState, NotificationEvent
from alerts.engine import evaluation, policy
from alerts.models import Alert, Incident, Notification
from alerts.notify import messages
from tests.alerts import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]
T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    with time_machine.travel(T0, tick=True):
        yield


def firing_pages() -> list[Notification]:
    return list(Notification.objects.filter(event=NotificationEvent.FIRING))


def test_a_success_of_an_old_partition_leaves_the_newer_partitions_failure_open() -> None:
    orders = f.source("orders", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(orders, T0, ok=False, partition="2026-12-05")
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(orders, T0 + f.minutes(10), ok=True, partition="2026-11-20")
    evaluation.evaluate(T0 + f.minutes(11))
    evaluation.evaluate(T0 + f.minutes(60))
    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING and alert.clear_since is None
    assert "for partition 2026-12-05" in alert.summary
    assert alert.details["partition"] == "2026-12-05"
    assert not Notification.objects.filter(event=NotificationEvent.RESOLVED).exists()


def test_re_running_the_failed_partition_resolves_it() -> None:
    orders = f.source("orders", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(orders, T0, ok=False, partition="2026-12-05")
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(orders, T0 + f.minutes(10), ok=True, partition="2026-12-05")
    evaluation.evaluate(T0 + f.minutes(11))
    evaluation.evaluate(T0 + f.minutes(12))
    assert Alert.objects.get().state == AlertState.RESOLVED


def test_an_old_failed_partition_stays_open_while_newer_partitions_succeed() -> None:
    orders = f.source("orders", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(orders, T0, ok=False, partition="2026-12-05")
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(orders, T0 + timedelta(days=1), ok=True, partition="2026-12-06")
    evaluation.evaluate(T0 + timedelta(days=1, minutes=1))
    assert Alert.objects.get().clear_since is None


def test_a_failed_partition_nobody_re_ran_for_a_week_is_given_up() -> None:
    orders = f.source("orders", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(orders, T0, ok=False, partition="2026-12-05")
    evaluation.evaluate(T0 + f.minutes(1))
    f.run(orders, T0 + timedelta(days=8), ok=True, partition="2026-12-13")
    evaluation.evaluate(T0 + timedelta(days=8, minutes=1))
    evaluation.evaluate(T0 + timedelta(days=8, minutes=2))
    assert Alert.objects.get().state == AlertState.RESOLVED


def test_a_backfill_of_seven_failing_partitions_is_one_incident_and_one_page() -> None:
    orders = f.source("orders", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    for day in range(1, 8):
        f.run(
            orders,
            T0 + f.minutes(day),
            ok=False,
            partition=f"2026-11-0{day}",
            backfill_id="bf1",
        )
    evaluation.evaluate(T0 + f.minutes(10))
    evaluation.evaluate(T0 + f.minutes(11))
    alert = Alert.objects.get()
    assert Incident.objects.count() == 1
    assert alert.details["partitions"] == [f"2026-11-0{day}" for day in range(1, 8)]
    assert "2026-11-01 … 2026-11-07 (7 partitions)" in alert.summary
    [page] = firing_pages()
    rendered = messages.render(page.event, page.payload)
    assert rendered.first is not None  # Slack's and the webhook's fields
    for text in (rendered.text, rendered.html, rendered.first.summary):
        assert "2026-11-01 … 2026-11-07 (7 partitions)" in text


def test_consecutive_failures_are_not_mended_by_a_re_run_of_an_older_partition() -> None:
    orders = f.source("orders", f.deployment())
    f.rule("Failing", "consecutive_failures", [f.channel()])
    f.run(orders, T0, ok=False, partition="2026-12-04")
    f.run(orders, T0 + f.minutes(5), ok=False, partition="2026-12-05")
    evaluation.evaluate(T0 + f.minutes(6))
    f.run(orders, T0 + f.minutes(10), ok=True, partition="2026-11-20")
    evaluation.evaluate(T0 + f.minutes(11))
    alert = Alert.objects.get()
    assert alert.clear_since is None and "(2026-12-04, 2026-12-05)" in alert.summary
    f.run(orders, T0 + timedelta(days=1), ok=True, partition="2026-12-06")
    evaluation.evaluate(T0 + timedelta(days=1, minutes=1))
    assert Alert.objects.get().clear_since is not None


@pytest.mark.parametrize(("backfill_id", "incidents"), [("bf1", 1), ("", 2)])
def test_failures_of_two_sources_in_one_backfill_join_one_incident_however_far_apart(
    backfill_id: str, incidents: int
) -> None:
    deployment = f.deployment()
    orders, prices = f.source("orders", deployment), f.source("prices", deployment)
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(orders, T0, ok=False, partition="2026-11-01", backfill_id=backfill_id)
    evaluation.evaluate(T0 + f.minutes(1))
    # Beyond the storm window: only the shared backfill puts them together.
    later = T0 + f.minutes(45)
    f.run(prices, later, ok=False, partition="2026-11-02", backfill_id=backfill_id, error="401")
    evaluation.evaluate(later + f.minutes(1))
    assert Incident.objects.count() == incidents
    if backfill_id:
        incident = Incident.objects.get()
        assert {a.source_id for a in incident.alerts.all()} == {orders.pk, prices.pk}
        assert incident.title == "2 sources, same backfill bf1"


def test_the_update_after_a_backfills_first_page_lists_every_partition_it_failed() -> None:
    """The first page goes out with the partitions failed so far; the update (batched per
    cooldown) carries the final list, so on-call learns the count the backfill reached."""
    orders = f.source("orders", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()], cooldown_minutes=30)
    for day in (1, 2):
        f.run(orders, T0 + f.minutes(day), ok=False, partition=f"2026-11-0{day}", backfill_id="bf1")
    evaluation.evaluate(T0 + f.minutes(3))
    for day in range(3, 8):
        f.run(orders, T0 + f.minutes(day), ok=False, partition=f"2026-11-0{day}", backfill_id="bf1")
        evaluation.evaluate(T0 + f.minutes(day) + timedelta(seconds=30))
    [first] = firing_pages()
    assert "2026-11-01, 2026-11-02" in first.payload["alerts"][0]["summary"]
    assert not Notification.objects.filter(event=NotificationEvent.UPDATE).exists()
    policy.send_reminders_and_escalations(T0 + f.minutes(34))
    [update] = Notification.objects.filter(event=NotificationEvent.UPDATE)
    full = "2026-11-01 … 2026-11-07 (7 partitions)"
    assert full in update.payload["alerts"][0]["summary"]
    assert full in messages.render(update.event, update.payload).text
    assert len(firing_pages()) == 1 and Incident.objects.count() == 1
    # Nothing new since: no second update at the next pass.
    policy.send_reminders_and_escalations(T0 + f.minutes(35))
    assert Notification.objects.filter(event=NotificationEvent.UPDATE).count() == 1
