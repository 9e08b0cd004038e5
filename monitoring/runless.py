"""Asset events reported outside any run: they count for a source's freshness like a run's.

External assets, ``report_runless_asset_event`` and observable source assets leave
materialisations and observations with no run (Dagster's runId is ""). The poll reads runs and
each finished run's logs, so these would never be seen; this reads them from the assets, stores
them as ``AssetEvent`` rows without a run and moves the source's last success forward (the stale
rule and the grid read it). Deduped by the events' unique constraint, so overlapping reads are
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max

from monitoring.choices import SourceKind
from monitoring.dagster.parse import AssetEventRecord, JsonObject, asset_event, items, obj, union
from monitoring.models import AssetEvent, Deployment, Source
from monitoring.sync import utc_ms

# Events per asset per read: a source reporting more than this between two reads (every
# DAGSTER_TICKS_INTERVAL_SECONDS) keeps its newest ones; its freshness needs only the latest.
EVENTS_PER_ASSET = 50
# Timestamps are the reporter's clock: read a little behind the newest stored one.
OVERLAP = timedelta(minutes=5)
TYPENAMES = {
    "assetMaterializations": "MaterializationEvent",
    "assetObservations": "ObservationEvent",
}


def runless_events(data: JsonObject) -> list[AssetEventRecord]:
    """The events without a run in a ``runless_events`` answer (a run's own are skipped)."""
    connection = union(data.get("assetsOrError"), "assetsOrError", "AssetConnection")
    found = []
    for raw in items(connection.get("nodes"), "assetsOrError.nodes"):
        node = obj(raw, "asset")
        for field_name, typename in TYPENAMES.items():
            for event in items(node.get(field_name) or [], f"asset.{field_name}"):
                if not obj(event, typename).get("runId"):
                    found.append(asset_event(event, typename))
    return found


def read_after(deployment: Deployment, now: datetime) -> str:
    """Epoch milliseconds to read from: the newest runless event stored, less an overlap, or
    the initial lookback for a deployment never read."""
    newest = AssetEvent.objects.filter(source__deployment=deployment, run__isnull=True).aggregate(
        newest=Max("timestamp")
    )["newest"]
    since = (
        newest - OVERLAP if newest else now - timedelta(days=settings.DAGSTER_INITIAL_LOOKBACK_DAYS)
    )
    return str(int(since.timestamp() * 1000))


@dataclass(frozen=True)
class Stored:
    events: int
    source_ids: set[int]


def store_runless_events(deployment: Deployment, records: list[AssetEventRecord]) -> Stored:
    """Store the events of known assets (an unknown key waits for discovery) and fold each
    source's newest one into its last success."""
    sources = {
        source.key: source
        for source in Source.objects.filter(
            deployment=deployment,
            kind=SourceKind.ASSET,
            key__in={r.asset_key for r in records},
        )
    }
    kept = [r for r in records if r.asset_key in sources]
    created = AssetEvent.objects.bulk_create(
        [event_row(sources[r.asset_key], r) for r in kept], ignore_conflicts=True
    )
    touched = set()
    for key in {r.asset_key for r in kept}:
        source = sources[key]
        newest = max(utc_ms(r.timestamp_ms) for r in kept if r.asset_key == key)
        if source.last_success_at is None or newest > source.last_success_at:
            source.last_success_at = newest
            source.save(update_fields=["last_success_at"])
            touched.add(source.pk)
    return Stored(len(created), touched)


def event_row(source: Source, record: AssetEventRecord) -> AssetEvent:
    return AssetEvent(
        source=source,
        run=None,
        dagster_run_id="",
        kind=record.kind,
        timestamp=utc_ms(record.timestamp_ms),
        dagster_timestamp=record.timestamp_ms,
        partition=record.partition[:255],
        step_key=record.step_key[:255],
        metrics=record.metrics,
        text_metadata=record.text_metadata,
    )
