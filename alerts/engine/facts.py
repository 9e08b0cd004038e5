"""What a firing message tells on-call beyond the rule's summary: since when, the last success,
how many runs failed, the deployment and the downstream assets affected.

Gathered when the outbox row is written (the payload is a snapshot), so a resent message says
what the first one said. Messages are few, so a few small queries per alert are fine: one for
the failed runs, one per level of lineage, one for the downstream keys, and one for the last
success only when the source has none recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.models import Alert
from monitoring.choices import SUCCESS_OUTCOMES, RunAssetOutcome
from monitoring.models import RunAsset, Source

# A storm's lineage can fan out to hundreds of assets: a message names this many, then counts.
MAX_DOWNSTREAM = 10
# Lineage deeper than this is not walked (a cycle is cut anyway by the visited set).
MAX_DEPTH = 20


def for_alert(alert: Alert) -> dict[str, Any]:
    """The facts of one alert, as JSON-ready payload keys.

    Every alert says since when its condition holds and its deployment; an alert about a
    source adds the source's last success, its failed runs since then and its downstream
    assets. The alert about confops itself has no deployment.
    """
    source = alert.source
    deployment = alert.deployment or (source.deployment if source else None)
    facts: dict[str, Any] = {"since": alert.condition_since.isoformat()}
    if deployment is not None:
        facts["deployment"] = deployment.name
    if source is not None:
        facts.update(source_facts(source))
    return facts


def source_facts(source: Source) -> dict[str, Any]:
    last_success = last_success_at(source)
    keys = downstream_keys(source)
    return {
        "last_success_at": last_success.isoformat() if last_success else None,
        "failed_runs": failed_runs(source, last_success),
        "downstream": keys[:MAX_DOWNSTREAM],
        "downstream_more": max(len(keys) - MAX_DOWNSTREAM, 0),
    }


def last_success_at(source: Source) -> datetime | None:
    """The source's recorded last success, else its newest successful run (a source stored
    before the latest-state fields were kept)."""
    if source.last_success_at is not None:
        return source.last_success_at
    newest = (
        RunAsset.objects.filter(source=source, outcome__in=SUCCESS_OUTCOMES)
        .exclude(run_created_at=None)
        .order_by("-run_created_at")
        .values_list("run_created_at", flat=True)
        .first()
    )
    return newest


def failed_runs(source: Source, since: datetime | None) -> int:
    """Final failures of the source after its last success (all of them if it never
    succeeded); a failure Dagster will retry is not final yet, so it is not counted."""
    links = RunAsset.objects.filter(source=source, outcome=RunAssetOutcome.FAILED).exclude(
        run__will_retry=True
    )
    if since is not None:
        links = links.filter(run_created_at__gt=since)
    return links.count()


def downstream_keys(source: Source) -> list[str]:
    """Keys of every source downstream of this one (transitively, through ``upstream``),
    nearest first, then by key; sources gone from Dagster are left out."""
    edges = Source.upstream.through.objects
    seen = {source.pk}
    levels: list[list[int]] = []
    frontier = [source.pk]
    while frontier and len(levels) < MAX_DEPTH:
        found = edges.filter(to_source_id__in=frontier).values_list("from_source_id", flat=True)
        frontier = sorted(set(found) - seen)
        seen.update(frontier)
        if frontier:
            levels.append(frontier)
    depth = {pk: level for level, pks in enumerate(levels) for pk in pks}
    rows = Source.objects.filter(pk__in=depth, is_gone=False).values_list("pk", "key")
    return [key for pk, key in sorted(rows, key=lambda row: (depth[row[0]], row[1]))]
