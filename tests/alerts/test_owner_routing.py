"""A channel routed to ``team:ingestion`` takes the alerts of the assets Dagster declares owned by
``team:ingestion``, although Dagster's GraphQL answers that owner as the bare team name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.choices import Severity
from alerts.engine import policy
from alerts.models import Notification
from alerts.rules.run_failed import RunFailed
from monitoring import sync
from monitoring.dagster import parse
from monitoring.filters import StatusFilters
from monitoring.models import Source
from tests.alerts import factories as f
from tests.fixtures.recorded import recorded

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


@pytest.fixture
def acme_products() -> Source:
    """retail/acme/products as discovered from RetailFeed's recorded Discovery answer."""
    deployment = f.deployment("retailfeed")
    sync.apply_discovery(deployment, parse.discovery(recorded("retailfeed_discovery")), T0)
    return Source.objects.get(deployment=deployment, key="retail/acme/products")


def told_channels() -> set[str]:
    return {n.channel.name for n in Notification.objects.all() if n.channel}


def test_dagster_answers_a_team_owner_as_the_team_name(acme_products: Source) -> None:
    assert acme_products.dagster_owners == ["ingestion"]


@pytest.mark.parametrize("route", ["team:ingestion", "ingestion", " team:ingestion "])
def test_a_channel_routed_to_the_team_takes_its_assets_alerts(
    acme_products: Source, route: str
) -> None:
    rule = f.rule("Failed", RunFailed.name, severity=Severity.CRITICAL)
    f.channel("ingestion", route_owners=[route])
    f.channel("finance", route_owners=["team:finance"])
    policy.on_changes([f.alert(rule, acme_products, T0)], [], [], T0)
    assert told_channels() == {"ingestion"}


def test_a_team_route_matches_a_source_stored_with_the_prefix_too() -> None:
    channel = f.channel("ingestion", route_owners=["ingestion"])
    assert channel.routes("", ["team:ingestion"], {})
    assert not channel.routes("", ["team:ingestionx"], {})


def test_the_status_filter_reads_a_team_owner_alike(acme_products: Source) -> None:
    wanted = StatusFilters(owner="team:ingestion")
    assert wanted.matches("retailfeed", "ingestion", {}, "", acme_products.dagster_owners)
    assert not StatusFilters(owner="team:finance").matches(
        "retailfeed", "ingestion", {}, "", acme_products.dagster_owners
    )
