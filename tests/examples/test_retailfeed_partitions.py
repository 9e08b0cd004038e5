"""Issue 16's "Done when" for partitions, judged by confops against RetailFeed's real webserver
(and daemon for the backfill): a success of an old partition leaves a newer partition's failure
open, and a failed backfill of several partitions is one incident with one firing page per
channel that lists them.

Each test polls a fresh deployment and evaluates at the real clock. The partitions are ones no
other module runs (the pipeline module uses days 1-9 ago, the judgement and runless modules
yesterday), on assets no other module counts failures of, and each test leaves its asset
healthy or its failures on partitions nobody else reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.choices import AlertState, NotificationEvent
from alerts.engine import evaluation
from alerts.models import Alert, AlertRule, Channel, Incident, Notification
from alerts.rules.run_failed import RunFailed
from monitoring import polling
from monitoring.models import Deployment, Source
from tests.alerts import factories as f
from tests.examples.test_retailfeed_pipeline import days_ago
from tests.fixtures.retailfeed import RetailfeedServer

# Partition D fails, D-7 succeeds, then D is re-run. No other module fails this asset: they share
# the worker's webserver, and another failed partition of it would join this alert.
REGRESSED = "retail/acme/prices"
BACKFILLED = "retail/corvid/products"  # a backfill of three failing partitions


def watch_and_poll(server: RetailfeedServer) -> Deployment:
    deployment = Deployment.objects.create(
        name="retailfeed", graphql_url=server.graphql_url, ui_url=server.base_url
    )
    poll(deployment)
    return deployment


def poll(deployment: Deployment) -> None:
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error


def run_failed_rule() -> AlertRule:
    return AlertRule.objects.get(kind=RunFailed.name)


def paging_channel() -> Channel:
    """A channel on the default "Run failed" rule, so its messages land in the outbox."""
    channel = f.channel("partitions-slack")
    run_failed_rule().channels.add(channel)
    return channel


def run_failed_on(deployment: Deployment, key: str) -> Alert | None:
    source = Source.objects.get(deployment=deployment, key=key)
    return (
        Alert.objects.filter(rule=run_failed_rule(), source=source).order_by("-opened_at").first()
    )


def pages_about(alert: Alert, event: str, channel: Channel | None = None) -> list[Notification]:
    found = Notification.objects.filter(alerts=alert, event=event)
    if channel is not None:
        found = found.filter(channel=channel)
    return list(found)


def listed(page: Notification, alert: Alert) -> dict[str, Any]:
    """The page's entry about ``alert`` (its payload snapshots each listed alert)."""
    return next(a for a in page.payload["alerts"] if a["id"] == alert.pk)


@pytest.mark.django_db
@pytest.mark.dagster
def test_a_success_of_an_old_partition_leaves_a_newer_partitions_failure_open(
    retailfeed_webserver: RetailfeedServer,
) -> None:
    server = retailfeed_webserver
    newer, older = days_ago(4), days_ago(11)
    paging_channel()
    server.set_faults({"assets": {REGRESSED: {"fail": True, "partitions": [newer]}}})
    try:
        server.wait_for_run(server.launch_partition("daily_ingest_job", newer))
        deployment = watch_and_poll(server)
        evaluation.evaluate(timezone.now())
        first = run_failed_on(deployment, REGRESSED)
        assert first is not None and first.state == AlertState.FIRING
        assert first.details["partition"] == newer

        server.wait_for_run(server.launch_partition("daily_ingest_job", older))
        poll(deployment)
        evaluation.evaluate(timezone.now())
        alert = run_failed_on(deployment, REGRESSED)
        assert alert is not None and alert.pk == first.pk
        assert alert.state == AlertState.FIRING and alert.clear_since is None
        assert f"for partition {newer}" in alert.summary, alert.summary
        assert alert.details["partition"] == newer
        assert not pages_about(alert, NotificationEvent.RESOLVED)
    finally:
        server.clear_faults()

    server.wait_for_run(server.launch_partition("daily_ingest_job", newer))
    poll(deployment)
    now = timezone.now()
    evaluation.evaluate(now)
    hold = timedelta(minutes=run_failed_rule().resolve_hold_minutes)
    evaluation.evaluate(now + hold + timedelta(minutes=1))
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.dagster
def test_a_failed_backfill_of_three_partitions_is_one_incident_and_one_page_per_channel(
    retailfeed_webserver: RetailfeedServer, retailfeed_daemon: Any
) -> None:
    server = retailfeed_webserver
    keys = [days_ago(n) for n in (14, 13, 12)]
    channel = paging_channel()
    server.set_faults({"assets": {BACKFILLED: {"fail": True, "partitions": keys}}})
    try:
        backfill_id = server.launch_backfill([BACKFILLED], keys)
        server.wait_for_backfill(backfill_id, timeout=150)
    finally:
        server.clear_faults()
    deployment = watch_and_poll(server)
    now = timezone.now()
    evaluation.evaluate(now)
    evaluation.evaluate(now + timedelta(minutes=1))
    alert = run_failed_on(deployment, BACKFILLED)
    assert alert is not None and alert.state == AlertState.FIRING
    assert alert.details["partitions"] == keys
    assert alert.details["backfill_id"] == backfill_id
    assert f"for partitions {', '.join(keys)}" in alert.summary, alert.summary
    assert Alert.objects.filter(rule=run_failed_rule(), source=alert.source).count() == 1
    assert Incident.objects.filter(alerts__source=alert.source).distinct().count() == 1
    [page] = pages_about(alert, NotificationEvent.FIRING, channel)
    assert all(key in listed(page, alert)["summary"] for key in keys)
