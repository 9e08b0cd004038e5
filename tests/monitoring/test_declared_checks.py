"""Discovery keeps the asset checks Dagster declares, before any of them runs: each on the asset it
checks (a multi-asset check on every one), with its blocking flag. From RetailFeed's recorded
Discovery answer (dagster 1.13.27)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitoring import sync
from monitoring.dagster import parse
from monitoring.models import Deployment, Source
from tests.fixtures.recorded import recorded

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
GONE = "prices_positive"
RETAILERS = ("acme", "borealis", "corvid", "dunmore")


@pytest.fixture
def deployment() -> Deployment:
    found = parse.discovery(recorded("retailfeed_discovery"))
    deployment = Deployment.objects.create(name="retailfeed", graphql_url="http://r/graphql")
    sync.apply_discovery(deployment, found, T0)
    return deployment


def checks_of(deployment: Deployment, key: str) -> dict[str, dict[str, Any]]:
    source = Source.objects.get(deployment=deployment, key=key)
    return {check["name"]: check for check in source.asset_checks}


def test_a_multi_asset_check_is_kept_on_every_asset_it_checks(deployment: Deployment) -> None:
    for retailer in RETAILERS:
        checks = checks_of(deployment, f"retail/{retailer}/prices")
        assert set(checks) == {"prices_positive", "prices_cover_products"}
        assert not any(check["blocking"] for check in checks.values())


def test_a_blocking_check_is_kept_with_its_flag_and_description(deployment: Deployment) -> None:
    check = checks_of(deployment, "retail/acme/products")["acme_products_have_skus"]
    assert check["blocking"] is True
    assert check["description"].startswith("acme's feed has SKUs")
    assert check["can_execute_individually"] == "CAN_EXECUTE"
    source = Source.objects.get(deployment=deployment, key="retail/acme/products")
    assert source.blocking_checks == {"acme_products_have_skus"}


def test_assets_without_checks_declare_none(deployment: Deployment) -> None:
    assert checks_of(deployment, "retail/borealis/products") == {}


def test_a_check_removed_from_the_code_is_dropped_at_the_next_discovery(
    deployment: Deployment,
) -> None:
    data = recorded("retailfeed_discovery")
    for entry in data["workspaceOrError"]["locationEntries"]:
        for repo in entry["locationOrLoadError"]["repositories"]:
            for node in repo["assetNodes"]:
                declared = node["assetChecksOrError"]
                declared["checks"] = [c for c in declared["checks"] if c["name"] != GONE]
    sync.apply_discovery(deployment, parse.discovery(data), T0)
    assert set(checks_of(deployment, "retail/acme/prices")) == {"prices_cover_products"}


@pytest.mark.parametrize(
    "answer",
    [
        {"__typename": "AssetCheckNeedsMigrationError", "message": "run migrate"},
        {"__typename": "AssetCheckNeedsUserCodeUpgrade", "message": "upgrade"},
        None,
    ],
    ids=["needs-migration", "old-user-code", "absent"],
)
def test_an_instance_that_cannot_list_checks_declares_none(answer: object) -> None:
    node = {"assetKey": {"path": ["a"]}, "assetChecksOrError": answer}
    assert parse.asset_definition(node, "loc", "repo").checks == []
