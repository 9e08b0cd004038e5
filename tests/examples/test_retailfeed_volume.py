"""Issue 16's "Done when: volume drops found under each volume key with no configuration",
against RetailFeed's real webserver: each asset reports its volume under its own key
(``dagster/row_count``, ``sku_count``, ``Number of records``), no rule or source is configured,
and the default volume rules find a drop to 35 % on each.

The module launches the normal runs once on a RetailFeed instance of its own; the test polls a
fresh deployment, finds no drop, launches one dropped run of each asset together, polls again
and finds one drop each. The instance is its own because the session's is shared: another
module's run of the newest week, made before this module's older weeks, turns them into re-runs
of old partitions, which are no baseline, and the weekly drop went unjudged (3 kept runs needed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.db.models import Max
from django.test import Client
from django.utils import timezone

from alerts.engine import evaluation
from alerts.models import Alert
from alerts.rules.volume_drop import VolumeDrop
from monitoring import polling
from monitoring.models import Deployment, Run, Source
from tests.examples.test_retailfeed_pipeline import days_ago, last_complete_week
from tests.fixtures.retailfeed import RetailfeedServer, running_retailfeed

# Each asset's volume key, as RetailFeed reports it (examples/retailfeed/README.md).
VOLUME_KEYS = {
    "retail/corvid/products": "dagster/row_count",
    "retail/borealis/prices": "sku_count",
    "retail/catalog/weekly_summary": "Number of records",
}
DAILY, WEEKLY = "daily_ingest_job", "weekly_summary_job"


def daily_partitions() -> list[str]:
    """Three normal days, oldest first (launched in this order, so each is the newest yet)."""
    return [days_ago(n) for n in (3, 2, 1)]


def weekly_partitions() -> list[str]:
    """Three normal weeks ending with the last complete one, oldest first."""
    newest = datetime.fromisoformat(last_complete_week()).date()
    return [(newest - timedelta(weeks=n)).isoformat() for n in (2, 1, 0)]


@pytest.fixture(scope="module")
def retailfeed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetailfeedServer]:
    """The module's own instance with the normal runs: three days and three weeks, oldest first.

    Each day and week waits for the one before it: launched together they may end in any
    order, and a run of an older partition after a newer one is a re-run of an old partition,
    which is no baseline.
    """
    with running_retailfeed(tmp_path_factory.mktemp("retailfeed_volume")) as server:
        for day, week in zip(daily_partitions(), weekly_partitions(), strict=True):
            launched = [server.launch_partition(DAILY, day), server.launch_partition(WEEKLY, week)]
            for run_id in launched:
                assert server.wait_for_run(run_id)["status"] == "SUCCESS", run_id
        yield server


def launch_drops(server: RetailfeedServer) -> None:
    """Switch 4 on one run of each asset: the newest day and week again, at 35 %."""
    day, week = daily_partitions()[-1], weekly_partitions()[-1]
    dropped = {"volume_factor": 0.35, "partitions": [day, week]}
    server.set_faults({"assets": dict.fromkeys(VOLUME_KEYS, dropped)})
    try:
        launched = [server.launch_partition(DAILY, day), server.launch_partition(WEEKLY, week)]
        for run_id in launched:
            assert server.wait_for_run(run_id)["status"] == "SUCCESS", run_id
    finally:
        server.clear_faults()


def poll(deployment: Deployment) -> datetime:
    """Poll, and the moment to judge at: a minute after the newest stored run ended."""
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    newest = Run.objects.filter(deployment=deployment).aggregate(at=Max("ended_at"))["at"]
    assert newest is not None
    return newest + timedelta(minutes=1)


def stored_partitions(deployment: Deployment, key: str) -> list[str]:
    """The partitions of the source's stored runs in the order they ended (for a failure)."""
    runs = Run.objects.filter(deployment=deployment, sources__key=key).order_by("ended_at")
    return list(runs.values_list("partition", flat=True))


def volume_drops(deployment: Deployment) -> dict[str, list[Alert]]:
    """The default volume drop rules' alerts on the module's assets, by asset key."""
    found: dict[str, list[Alert]] = {key: [] for key in VOLUME_KEYS}
    alerts = Alert.objects.filter(
        rule__kind=VolumeDrop.name, source__deployment=deployment, source__key__in=VOLUME_KEYS
    ).select_related("source")
    for alert in alerts:
        assert alert.source is not None
        found[alert.source.key].append(alert)
    return found


@pytest.mark.django_db
@pytest.mark.dagster
def test_volume_drops_are_found_under_each_volume_key_without_configuration(
    retailfeed: RetailfeedServer,
) -> None:
    deployment = Deployment.objects.create(name="retailfeed", graphql_url=retailfeed.graphql_url)
    evaluation.evaluate(poll(deployment))
    assert volume_drops(deployment) == {key: [] for key in VOLUME_KEYS}
    for key in VOLUME_KEYS:  # nothing configured: each source chooses its key itself
        assert Source.objects.get(deployment=deployment, key=key).volume_metric == ""

    launch_drops(retailfeed)
    evaluation.evaluate(poll(deployment))

    drops = volume_drops(deployment)
    for key, metric in VOLUME_KEYS.items():
        assert len(drops[key]) == 1, (key, drops[key], stored_partitions(deployment, key))
        details = drops[key][0].details
        assert details["metric"] == metric and details["metric_choice"] == "auto", details
        # 35 % of a day's (or week's) count against ones within ±5 %: well past the default 30 %.
        assert 50 <= details["drop_percent"] <= 75, details
        assert metric in drops[key][0].summary


@pytest.mark.django_db
@pytest.mark.dagster
def test_the_grid_and_the_source_page_show_each_assets_volume_key(
    retailfeed: RetailfeedServer, viewer_user_client: Client
) -> None:
    deployment = Deployment.objects.create(name="retailfeed", graphql_url=retailfeed.graphql_url)
    poll(deployment)
    for key, metric in VOLUME_KEYS.items():
        source = Source.objects.get(deployment=deployment, key=key)
        assert metric in source.metric_keys, source.metric_keys
        html = viewer_user_client.get(f"/sources/{source.slug}/").content.decode()
        assert f"{metric} of {key} over" in html
