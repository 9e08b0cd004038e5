"""The timer pass split in shards (``deadlines.Shard``) that workers share: a deployment's shard
judges only its own sources, the fleet shard the sources without a deployment and the
deployments' own subjects; on PostgreSQL, two workers on one shard make one alert and one
message, two shards at once both alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from alerts.choices import AlertState
from alerts.engine import deadlines, evaluation
from alerts.engine.deadlines import FLEET, Shard
from alerts.models import Alert, AlertRule, Incident, Notification
from confops.celery import app
from monitoring.models import Deployment, Source
from tests.alerts import factories as f
from tests.fixtures.races import race

pytestmark = pytest.mark.usefixtures("only_our_rules")
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def failing(name: str, deployment: Deployment | None) -> Source:
    """A source whose last run failed an hour ago, of an error its own (alerts sharing a cause
    would join one incident, one message for all: ``incidents.storm_incident``)."""
    source = f.source(name, deployment)
    f.run(source, NOW - timedelta(hours=1), ok=False, error=f"{name}: {name.upper()} exploded")
    return source


def alerted_sources() -> set[int | None]:
    return set(Alert.objects.values_list("source_id", flat=True))


@pytest.mark.django_db
def test_a_deployment_shard_judges_only_its_own_sources() -> None:
    f.rule("Run failed", "run_failed", [f.channel()])
    a, b = f.deployment("a"), f.deployment("b")
    on_a, on_b, pushed = failing("on_a", a), failing("on_b", b), failing("pushed", None)
    judged = evaluation.evaluate_due(NOW, Shard(a.pk))
    assert (judged.sources, alerted_sources()) == (1, {on_a.pk})
    judged = evaluation.evaluate_due(NOW, Shard(b.pk))
    assert (judged.sources, alerted_sources()) == (1, {on_a.pk, on_b.pk})
    judged = evaluation.evaluate_due(NOW, FLEET)
    assert (judged.sources, alerted_sources()) == (1, {on_a.pk, on_b.pk, pushed.pk})
    assert Notification.objects.count() == 3


@pytest.mark.django_db
def test_deployment_subjects_are_judged_in_the_fleet_shard_only() -> None:
    f.rule("Unreachable", "deployment_unreachable", [f.channel()])
    down = f.deployment("down", failing_since=NOW - timedelta(hours=2), last_error="refused")
    f.source("quiet", down)
    assert evaluation.evaluate_due(NOW, Shard(down.pk)).evaluated == 0
    assert not Alert.objects.exists()
    assert evaluation.evaluate_due(NOW, FLEET).evaluated == 1
    assert Alert.objects.get().deployment_id == down.pk


@pytest.mark.django_db
def test_due_shards_are_the_deployments_with_a_due_source() -> None:
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    a, b = f.deployment("a"), f.deployment("b")
    f.source("new_on_a", a, last_success_at=NOW)
    on_b = f.source("on_b", b, last_success_at=NOW)
    f.source("pushed", None, last_success_at=NOW)
    assert deadlines.due_shards(NOW) == [Shard(a.pk), Shard(b.pk)]  # no deadline stored yet
    evaluation.evaluate_due(NOW)
    assert deadlines.due_shards(NOW + timedelta(minutes=1)) == []
    deadlines.make_due([on_b.pk])
    assert deadlines.due_shards(NOW + timedelta(minutes=1)) == [Shard(b.pk)]


@pytest.mark.django_db
def test_the_timer_fans_out_one_task_per_due_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run inline: each shard task the timer sends judges its deployment."""
    from alerts.tasks import evaluate_all

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    f.rule("Run failed", "run_failed", [f.channel()])
    sources = [failing("on_a", f.deployment("a")), failing("on_b", f.deployment("b"))]
    sources.append(failing("pushed", None))
    summary = evaluate_all()
    assert summary["shards"] == 2 and summary["sources"] == 1  # the fleet shard's pushed source
    assert alerted_sources() == {s.pk for s in sources}
    assert Notification.objects.count() == 3


@pytest.fixture
def failing_on_two_deployments() -> Iterator[tuple[Source, Source]]:
    f.rule("Run failed", "run_failed", [f.channel()])
    yield failing("on_a", f.deployment("a")), failing("on_b", f.deployment("b"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_shard_make_one_alert_and_one_message(
    failing_on_two_deployments: tuple[Source, Source],
) -> None:
    """The real path: the shard's lock lets one in; the other waits, then finds the alert open."""
    assert connection.vendor == "postgresql"
    on_a, _ = failing_on_two_deployments
    shard = Shard(on_a.deployment_id)
    results = race(2, lambda: evaluation.evaluate_shard(NOW, shard, wait_seconds=20))
    fired = sorted(len(r.fired) for r in results if r is not None)
    assert fired in ([1], [0, 1])
    assert Alert.objects.filter(state=AlertState.FIRING).count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_the_lock_the_database_still_sends_one_firing_message(
    failing_on_two_deployments: tuple[Source, Source],
) -> None:
    """Both workers judge a pending alert past its pending period at once, no cache lock: the
    alert's row lock (``select_for_update``) serialises them and the second sees it fired."""
    assert connection.vendor == "postgresql"
    on_a, _ = failing_on_two_deployments
    AlertRule.objects.update(enabled=False)  # the fixture's rule: judged no more
    f.rule("Run failed later", "run_failed", [f.channel("later")], pending_minutes=10)
    shard = Shard(on_a.deployment_id)
    evaluation.evaluate_due(NOW - timedelta(minutes=59), shard)  # a minute after the failure
    pending = Alert.objects.get()
    assert pending.state == AlertState.PENDING
    deadlines.make_due()
    results = race(2, lambda: evaluation.evaluate_due(NOW, shard))
    assert sorted(len(r.fired) for r in results) == [0, 1]
    assert Alert.objects.get(pk=pending.pk).state == AlertState.FIRING
    assert Notification.objects.filter(channel__name="later").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_shards_at_once_both_alert(failing_on_two_deployments: tuple[Source, Source]) -> None:
    assert connection.vendor == "postgresql"
    shards = iter([Shard(s.deployment_id) for s in failing_on_two_deployments])
    results = race(2, lambda: evaluation.evaluate_shard(NOW, next(shards), wait_seconds=0))
    assert [len(r.fired) for r in results if r is not None] == [1, 1]  # neither waited
    assert alerted_sources() == {s.pk for s in failing_on_two_deployments}
    assert Notification.objects.count() == 2


def failing_together(deployment: Deployment, name: str) -> Source:
    """A source failing with the error every other one of the storm has (one cause)."""
    source = f.source(name, deployment)
    f.run(source, NOW - timedelta(hours=1), ok=False, error="warehouse: connection refused")
    return source


@pytest.fixture
def one_storm_on_two_deployments() -> list[Shard]:
    f.rule("Run failed", "run_failed", [f.channel()])
    return [Shard(failing_together(f.deployment(n), f"on_{n}").deployment_id) for n in "ab"]


@pytest.mark.django_db
def test_one_storm_judged_shard_after_shard_is_one_incident_and_one_message(
    one_storm_on_two_deployments: list[Shard],
) -> None:
    for shard in one_storm_on_two_deployments:
        evaluation.evaluate_due(NOW, shard)
    assert Alert.objects.filter(state=AlertState.FIRING).count() == 2
    assert Incident.objects.count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_storm_judged_by_two_shards_at_once_is_still_one_incident_and_one_message(
    one_storm_on_two_deployments: list[Shard],
) -> None:
    """Each shard's transaction may find no incident yet: they take turns at the assignment
    (``incidents.assign`` holds a lock until commit), so the second joins the first's."""
    assert connection.vendor == "postgresql"
    shards = iter(one_storm_on_two_deployments)
    results = race(2, lambda: evaluation.evaluate_shard(NOW, next(shards), wait_seconds=0))
    assert [len(r.fired) for r in results if r is not None] == [1, 1]
    assert Incident.objects.count() == 1
    assert Notification.objects.count() == 1
