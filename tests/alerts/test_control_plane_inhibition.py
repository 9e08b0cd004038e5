"""A control-plane alert about a deployment holds back the source alerts it explains: one page
about the broken code location or the dead scheduler, not one per source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.choices import NotificationEvent
from alerts.engine import evaluation
from alerts.models import Alert, AlertRule, Notification
from monitoring.models import Run
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    with time_machine.travel(T0, tick=True):
        yield


@pytest.fixture(autouse=True)
def only_our_rules() -> None:
    AlertRule.objects.all().delete()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def firing_messages() -> list[Notification]:
    return list(Notification.objects.filter(event=NotificationEvent.FIRING).order_by("pk"))


def test_a_broken_code_location_holds_back_its_sources_failures() -> None:
    dep = f.deployment(code_location_errors={"confradar": "DagsterImportError: no module scrapy"})
    elra, wikicfp = f.source("elra_conferences", dep), f.source("wikicfp_conferences", dep)
    channel = f.channel()
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy", [channel])
    f.rule("Run failed", "run_failed", [channel])
    f.run(elra, T0, ok=False)
    f.run(wikicfp, T0, ok=False)
    evaluation.evaluate(T0 + minutes(1))
    deployment_alert = Alert.objects.get(deployment=dep, source__isnull=True)
    source_alerts = Alert.objects.filter(source__isnull=False)
    assert source_alerts.count() == 2 and all(a.inhibited for a in source_alerts)
    [message] = firing_messages()
    assert list(message.alerts.all()) == [deployment_alert]

    # Fixed: the deployment alert clears, the failures still hold and are told now.
    dep.code_location_errors = {}
    dep.save()
    evaluation.evaluate(T0 + minutes(5))
    assert not any(a.inhibited for a in Alert.objects.filter(source__isnull=False))
    told = {a.pk for n in firing_messages() for a in n.alerts.all()}
    assert told == set(Alert.objects.values_list("pk", flat=True))


def test_an_unrelated_kind_is_not_held_back() -> None:
    dep = f.deployment(code_location_errors={"confradar": "boom"})
    elra = f.source("elra_conferences", dep)
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy")
    f.rule("Count below minimum", "volume_bounds", parameters={"metric": "count", "min": 1})
    f.run(elra, T0, metrics={"count": 0})
    evaluation.evaluate(T0 + minutes(1))
    assert not Alert.objects.get(source=elra).inhibited


def test_another_deployments_sources_are_not_held_back() -> None:
    broken = f.deployment("broken", code_location_errors={"etl": "boom"})
    elra = f.source("elra_conferences", f.deployment("healthy"))
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy")
    f.rule("Run failed", "run_failed")
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + minutes(1))
    assert Alert.objects.filter(deployment=broken, source__isnull=True).exists()
    assert not Alert.objects.get(source=elra).inhibited


def test_runs_stuck_in_the_queue_hold_back_stale_sources() -> None:
    dep = f.deployment()
    elra = f.source("elra_conferences", dep)  # first seen at T0, never succeeded
    queued_at = T0 + timedelta(hours=24)
    Run.objects.create(
        deployment=dep,
        run_id="queued-1",
        job_name="crawl_job",
        status="QUEUED",
        created_at=queued_at,
    )
    f.rule("Queued runs not starting", "run_stuck", parameters={"minutes": 15})
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    evaluation.evaluate(queued_at + minutes(60))
    assert Alert.objects.filter(deployment=dep, rule__kind="run_stuck").exists()
    assert Alert.objects.get(source=elra).inhibited
