"""A control-plane alert about a deployment holds back the source alerts it explains: one page
about the broken code location or the dead scheduler, not one per source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.choices import NotificationEvent
from alerts.engine import evaluation
from alerts.models import Alert, Notification
from monitoring.choices import SourceKind
from monitoring.models import Instigator, Run
from tests.alerts import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0() -> Iterator[None]:
    with time_machine.travel(T0, tick=True):
        yield


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
    evaluation.evaluate(T0 + f.minutes(1))
    deployment_alert = Alert.objects.get(deployment=dep, source__isnull=True)
    source_alerts = Alert.objects.filter(source__isnull=False)
    assert source_alerts.count() == 2 and all(a.inhibited for a in source_alerts)
    [message] = firing_messages()
    assert list(message.alerts.all()) == [deployment_alert]

    # Fixed: the deployment alert clears, the failures still hold and are told now.
    dep.code_location_errors = {}
    dep.save()
    evaluation.evaluate(T0 + f.minutes(5))
    assert not any(a.inhibited for a in Alert.objects.filter(source__isnull=False))
    told = {a.pk for n in firing_messages() for a in n.alerts.all()}
    assert told == set(Alert.objects.values_list("pk", flat=True))


def test_an_unrelated_kind_is_not_held_back() -> None:
    dep = f.deployment(code_location_errors={"confradar": "boom"})
    elra = f.source("elra_conferences", dep)
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy")
    f.rule("Count below minimum", "volume_bounds", parameters={"metric": "count", "min": 1})
    f.run(elra, T0, metrics={"count": 0})
    evaluation.evaluate(T0 + f.minutes(1))
    assert not Alert.objects.get(source=elra).inhibited


def test_another_deployments_sources_are_not_held_back() -> None:
    broken = f.deployment("broken", code_location_errors={"etl": "boom"})
    elra = f.source("elra_conferences", f.deployment("healthy"))
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy")
    f.rule("Run failed", "run_failed")
    f.run(elra, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
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
    evaluation.evaluate(queued_at + f.minutes(60))
    assert Alert.objects.filter(deployment=dep, rule__kind="run_stuck").exists()
    assert Alert.objects.get(source=elra).inhibited


def stopped_schedule(dep: object, name: str) -> Instigator:
    return Instigator.objects.create(
        deployment=dep,
        kind="schedule",
        name=name,
        code_location="retailfeed",
        repository="__repository__",
        status="STOPPED",
        stopped_at=T0,
    )


def test_a_stopped_schedule_holds_back_only_its_own_targets_staleness() -> None:
    dep = f.deployment()
    daily = f.source("retail/acme/products", dep, schedule_names=["daily_ingest_schedule"])
    weekly = f.source("retail/catalog/weekly_summary", dep, schedule_names=["weekly_schedule"])
    stopped_schedule(dep, "daily_ingest_schedule")
    f.rule("Schedule or sensor stopped", "instigator_stopped")
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    evaluation.evaluate(T0 + timedelta(hours=30))
    assert Alert.objects.filter(deployment=dep, rule__kind="instigator_stopped").exists()
    assert Alert.objects.get(source=daily).inhibited
    assert not Alert.objects.get(source=weekly).inhibited


def test_a_stopped_sensor_holds_back_the_sources_of_the_job_it_starts() -> None:
    dep = f.deployment()
    job = f.source("catalog_job", dep, kind=SourceKind.JOB, job_names=["catalog_job"])
    other = f.source("retail/acme/products", dep)
    Instigator.objects.create(
        deployment=dep,
        kind="sensor",
        name="catalog_drop_sensor",
        code_location="retailfeed",
        repository="__repository__",
        status="STOPPED",
        stopped_at=T0,
        target_jobs=["catalog_job"],
    )
    f.rule("Schedule or sensor stopped", "instigator_stopped")
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    evaluation.evaluate(T0 + timedelta(hours=30))
    assert Alert.objects.get(source=job).inhibited
    assert not Alert.objects.get(source=other).inhibited


def test_a_broken_code_location_holds_back_only_its_own_sources() -> None:
    dep = f.deployment(code_location_errors={"retailfeed": "RetailFeedFault: boom"})
    broken = f.source("retail/acme/products", dep, code_location="retailfeed")
    loading = f.source("elra_conferences", dep, code_location="confradar")
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy")
    f.rule("Run failed", "run_failed")
    f.run(broken, T0, ok=False)
    f.run(loading, T0, ok=False)
    evaluation.evaluate(T0 + f.minutes(1))
    assert Alert.objects.get(source=broken).inhibited
    assert not Alert.objects.get(source=loading).inhibited


def test_a_down_daemon_holds_back_every_code_locations_sources() -> None:
    beat = (T0 - timedelta(hours=2)).timestamp()
    dep = f.deployment(
        last_success_at=T0 + timedelta(hours=30),
        daemon_health={"SCHEDULER": {"required": True, "healthy": True, "last_heartbeat": beat}},
        code_location_errors={"retailfeed": "RetailFeedFault: boom"},
    )
    elra = f.source("elra_conferences", dep, code_location="confradar")
    f.rule("Code location or daemon unhealthy", "deployment_unhealthy")
    f.rule("Stale", "stale", parameters={"max_age_hours": 24})
    evaluation.evaluate(T0 + timedelta(hours=30))
    assert Alert.objects.get(source=elra).inhibited
