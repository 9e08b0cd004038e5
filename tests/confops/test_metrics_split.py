"""/metrics split for a fleet: ``?deployment=<name>`` answers one deployment's series and
``?scope=fleet`` all but the per-source ones, so between them every series is scraped once and
no scrape reads every source."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.confops.test_metrics import NOW, TOKEN, scrape, seed, value

pytestmark = pytest.mark.django_db

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def at_now(settings: Any) -> Any:
    settings.METRICS_BEARER_TOKEN = TOKEN
    with time_machine.travel(NOW, tick=False):
        yield


def series(families: dict[str, Any]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for samples in families.values()
        for sample in samples
        if sample.name != "confops_metrics_collect_duration_seconds"
    }


def get(client: Client, query: str) -> dict[str, Any]:
    response = client.get(f"/metrics{query}", headers=AUTH)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_one_deployment_answers_its_own_series_only(client: Client) -> None:
    seeded = seed()
    prod = get(client, "?deployment=prod")
    bad = {"deployment": "prod", "source": seeded["bad"].slug, "kind": "asset"}
    assert value(prod["confops_source_state"], **bad) == 2
    assert {s.labels["deployment"] for s in prod["confops_source_state"]} == {"prod"}
    assert {s.labels["deployment"] for s in prod["confops_deployment_reachable"]} == {"prod"}
    assert "confops_alerts_firing" not in prod and "confops_notifications" not in prod


def test_the_fleet_part_has_no_source_series(client: Client) -> None:
    seed()
    fleet = get(client, "?scope=fleet")
    assert not [name for name in fleet if name.startswith("confops_source_")]
    deployments = {s.labels["deployment"] for s in fleet["confops_deployment_reachable"]}
    assert deployments == {"prod", "broken"}


def test_the_parts_together_are_the_whole_scrape(client: Client) -> None:
    seed()
    whole = series(scrape(client, **AUTH))
    fleet = series(get(client, "?scope=fleet"))
    parts = [series(get(client, f"?deployment={name}")) for name in ("prod", "broken", "-")]
    assert fleet | parts[0] | parts[1] | parts[2] == whole
    # Each source's series are in one part only (the pushed source's in the "-" part).
    assert not (parts[0] & parts[2]) and any("fastapi-scraper" in str(s) for s in parts[2])


def test_an_unknown_deployment_is_not_found(client: Client) -> None:
    assert client.get("/metrics?deployment=nope", headers=AUTH).status_code == 404
