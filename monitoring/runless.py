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
from monitoring.sync import asset_event_row, utc_ms
from monitoring.volume import fold_metric_keys, numeric_metrics

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
    events: int  # new events stored
    source_ids: set[int]  # the sources that got new events


def store_runless_events(deployment: Deployment, records: list[AssetEventRecord]) -> Stored:
    """Store the events of known assets (an unknown key waits for discovery), fold each
    source's newest one into its last success and each new one's numeric keys into the keys
    it reports (an event read again by an overlapping read is not a second report)."""
    if not records:
        return Stored(0, set())
    sources = {
        source.key: source
        for source in Source.objects.filter(
            deployment=deployment,
            kind=SourceKind.ASSET,
            key__in={r.asset_key for r in records},
        )
    }
    new = unseen([r for r in records if r.asset_key in sources], sources)
    AssetEvent.objects.bulk_create(
        [asset_event_row(sources[r.asset_key], r) for r in new], ignore_conflicts=True
    )
    touched = set()
    for key in {r.asset_key for r in new}:
        source = sources[key]
        fields = fold_events(source, [r for r in new if r.asset_key == key])
        if fields:
            source.save(update_fields=fields)
        touched.add(source.pk)  # a new event is judged (volume) even when it is not the newest
    return Stored(len(new), touched)


def unseen(records: list[AssetEventRecord], sources: dict[str, Source]) -> list[AssetEventRecord]:
    """The records not stored yet (one query), each once."""
    stored = set(
        AssetEvent.objects.filter(
            source__in=list(sources.values()),
            run__isnull=True,
            dagster_timestamp__in={r.timestamp_ms for r in records},
        ).values_list("source__key", "kind", "dagster_timestamp")
    )
    new: dict[tuple[str, str, str], AssetEventRecord] = {}
    for record in records:
        identity = (record.asset_key, record.kind, record.timestamp_ms)
        if identity not in stored:
            new.setdefault(identity, record)
    return list(new.values())


def fold_events(source: Source, records: list[AssetEventRecord]) -> list[str]:
    """Fold new events of one source into its row, oldest first; the fields that changed."""
    fields = []
    for record in sorted(records, key=lambda r: utc_ms(r.timestamp_ms)):
        at = utc_ms(record.timestamp_ms)
        if numeric_metrics(record.metrics):
            source.metric_keys = fold_metric_keys(source.metric_keys or {}, record.metrics, at)
            fields.append("metric_keys")
        if source.last_success_at is None or at > source.last_success_at:
            source.last_success_at = at
            fields.append("last_success_at")
    return sorted(set(fields))
