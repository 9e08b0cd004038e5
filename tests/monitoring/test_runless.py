"""Asset events reported outside runs count for freshness (recorded payloads, model rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitoring import runless
from monitoring.choices import AssetEventKind, SourceKind
from monitoring.models import AssetEvent, Deployment, Source

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def event(run_id: str, at: datetime, key: str = "raw/prices", rows: int = 100) -> dict[str, Any]:
    """An event as Dagster 1.13 answers it: runId "" when reported outside a run."""
    return {
        "runId": run_id,
        "timestamp": str(int(at.timestamp() * 1000)),
        "partition": "2026-12-05",
        "stepKey": None,
        "assetKey": {"path": key.split("/")},
        "metadataEntries": [
            {
                "__typename": "IntMetadataEntry",
                "label": "dagster/row_count",
                "intValue": rows,
                "intRepr": str(rows),
            }
        ],
    }


def answer(materializations: list[Any], observations: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    node = {
        "key": {"path": ["raw", "prices"]},
        "assetMaterializations": materializations,
        "assetObservations": list(observations),
    }
    return {"assetsOrError": {"__typename": "AssetConnection", "nodes": [node]}}


@pytest.fixture
def deployment() -> Deployment:
    return Deployment.objects.create(name="retail", graphql_url="http://d/graphql")


@pytest.fixture
def source(deployment: Deployment) -> Source:
    return Source.objects.create(
        deployment=deployment, kind=SourceKind.ASSET, key="raw/prices", slug="raw-prices"
    )


def test_only_events_without_a_run_are_read() -> None:
    found = runless.runless_events(
        answer([event("", T0), event("a1b2", T0)], [event("", T0 + timedelta(minutes=1))])
    )
    assert [(e.kind, e.partition, e.metrics) for e in found] == [
        ("materialization", "2026-12-05", {"dagster/row_count": 100.0}),
        ("observation", "2026-12-05", {"dagster/row_count": 100.0}),
    ]


def test_a_runless_materialisation_is_the_source_s_last_success(
    deployment: Deployment, source: Source
) -> None:
    records = runless.runless_events(answer([event("", T0)]))
    stored = runless.store_runless_events(deployment, records)
    source.refresh_from_db()
    assert source.last_success_at == T0
    assert stored.source_ids == {source.pk}
    row = AssetEvent.objects.get(source=source)
    assert (row.run, row.kind, row.partition) == (
        None,
        AssetEventKind.MATERIALIZATION,
        "2026-12-05",
    )


def test_an_observation_of_a_source_asset_counts_too(
    deployment: Deployment, source: Source
) -> None:
    records = runless.runless_events(answer([], [event("", T0)]))
    runless.store_runless_events(deployment, records)
    source.refresh_from_db()
    assert source.last_success_at == T0


def test_reading_the_same_events_again_stores_them_once(
    deployment: Deployment, source: Source
) -> None:
    records = runless.runless_events(answer([event("", T0)]))
    runless.store_runless_events(deployment, records)
    again = runless.store_runless_events(deployment, records)
    assert AssetEvent.objects.filter(source=source).count() == 1
    assert again.source_ids == set()  # nothing newer: the source is not touched


def test_an_older_event_does_not_move_the_last_success_back(
    deployment: Deployment, source: Source
) -> None:
    source.last_success_at = T0
    source.save()
    runless.store_runless_events(
        deployment, runless.runless_events(answer([event("", T0 - timedelta(hours=3))]))
    )
    source.refresh_from_db()
    assert source.last_success_at == T0


def test_events_of_unknown_assets_wait_for_discovery(
    deployment: Deployment, source: Source
) -> None:
    records = runless.runless_events(answer([event("", T0, key="raw/unknown")]))
    assert runless.store_runless_events(deployment, records).source_ids == set()
    assert not AssetEvent.objects.exists()


def test_reading_resumes_a_little_before_the_newest_stored_event(
    deployment: Deployment, source: Source
) -> None:
    now = T0 + timedelta(hours=1)
    first = int(runless.read_after(deployment, now))
    assert first < int((now - timedelta(days=1)).timestamp() * 1000)  # the initial lookback
    runless.store_runless_events(deployment, runless.runless_events(answer([event("", T0)])))
    resumed = int(runless.read_after(deployment, now))
    assert resumed == int((T0 - runless.OVERLAP).timestamp() * 1000)


def test_runless_events_teach_the_source_its_metric_keys_once_each(
    deployment: Deployment, source: Source
) -> None:
    """Each new event is one report of its numeric keys; an overlapping read adds none."""
    records = runless.runless_events(
        answer([event("", T0, rows=120)], [event("", T0 + timedelta(minutes=1), rows=90)])
    )
    runless.store_runless_events(deployment, records)
    runless.store_runless_events(deployment, records)
    source.refresh_from_db()
    entry = source.metric_keys["dagster/row_count"]
    assert (entry["reports"], entry["last"]) == (2, 90.0)
    assert source.last_success_at == T0 + timedelta(minutes=1)


def test_an_older_new_event_is_stored_and_its_source_judged_without_moving_freshness_back(
    deployment: Deployment, source: Source
) -> None:
    source.last_success_at = T0
    source.save()
    records = runless.runless_events(answer([event("", T0 - timedelta(hours=3), rows=7)]))
    stored = runless.store_runless_events(deployment, records)
    source.refresh_from_db()
    assert (stored.events, stored.source_ids) == (1, {source.pk})
    assert source.last_success_at == T0
    assert source.metric_keys["dagster/row_count"]["last"] == 7.0
