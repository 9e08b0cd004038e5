"""Store what a poll fetched: upserts by natural key, each step in its own transaction.

Replaying any of these with the same input changes nothing, so a poll that overlaps the previous
one, or repeats after a crash, neither drops nor duplicates a run, an event or a check result.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.utils.text import slugify

from monitoring.choices import (
    TERMINAL_RUN_STATUSES,
    AssetEventKind,
    LaunchReason,
    RunAssetOutcome,
    RunStatus,
    SourceKind,
)
from monitoring.dagster import parse
from monitoring.models import (
    AssetEvent,
    CheckResult,
    Deployment,
    FailedTick,
    Instigator,
    Outcome,
    Run,
    RunAsset,
    Source,
)

ERROR_MESSAGE_LIMIT = 10_000


def utc(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp is not None else None


def utc_ms(timestamp_ms: str) -> datetime:
    return datetime.fromtimestamp(float(timestamp_ms) / 1000, tz=UTC)


# --- Health -----------------------------------------------------------------------------------


def workspace_fingerprint(locations: Iterable[parse.LocationState]) -> str:
    """Changes whenever a code location is reloaded, added, removed or fails to load."""
    parts = sorted(f"{loc.name}|{loc.updated}|{loc.error}" for loc in locations)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def apply_health(deployment: Deployment, answer: parse.PollAnswer) -> None:
    """Set (not save) daemon and code-location health: the poll's outcome saves it at once."""
    deployment.daemon_health = {
        d.daemon_type: {
            "required": d.required,
            "healthy": d.healthy,
            "last_heartbeat": d.last_heartbeat,
            "error": d.error,
        }
        for d in answer.daemons
    }
    # A load error quotes the code's own text, which may carry the deployment's secrets.
    deployment.code_location_errors = {
        loc.name: deployment.redact(loc.error) for loc in answer.locations if loc.error
    }


# --- Discovery --------------------------------------------------------------------------------


def unique_slug(deployment: Deployment, key: str, taken: set[str]) -> str:
    base = slugify(f"{deployment.name}-{key.replace('/', '-')}")[:180] or "source"
    slug, number = base, 2
    while slug in taken or Source.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    taken.add(slug)
    return slug


ASSET_FIELDS = (
    "group_name",
    "description",
    "tags",
    "kinds",
    "code_location",
    "repository",
    "op_names",
    "job_names",
    "partitions_definition",
    "freshness_policy",
    "schedule_names",
    "sensor_names",
)


def asset_values(asset: parse.AssetDefinition) -> dict[str, object]:
    values = {name: getattr(asset, name) for name in ASSET_FIELDS}
    values["dagster_owners"] = asset.owners
    values["asset_checks"] = asset.checks
    return values


def job_values(job: parse.JobDefinition) -> dict[str, object]:
    return {
        "description": job.description,
        "code_location": job.code_location,
        "repository": job.repository,
        "job_names": [job.name],
        "is_asset_job": job.is_asset_job,
    }


@dataclass
class DiscoveryResult:
    created: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    instigators: int = 0


@transaction.atomic
def apply_discovery(
    deployment: Deployment, found: parse.Discovery, now: datetime
) -> DiscoveryResult:
    """Upsert sources and instigators; mark missing ones gone (only in locations that loaded:
    a location that fails to load hides its assets, which are not gone)."""
    result = DiscoveryResult()
    existing = {(s.kind, s.key): s for s in Source.objects.filter(deployment=deployment)}
    wanted: dict[tuple[str, str], dict[str, object]] = {}
    for asset in found.assets:
        wanted[(SourceKind.ASSET, asset.key)] = asset_values(asset)
    for job in found.jobs:
        if not job.name.startswith("__ASSET_JOB"):
            wanted[(SourceKind.JOB, job.name)] = job_values(job)
    taken: set[str] = set()
    for (kind, key), values in wanted.items():
        source = existing.get((kind, key))
        if source is None:
            source = Source(deployment=deployment, kind=kind, key=key)
            source.slug = unique_slug(deployment, key, taken)
            result.created.append(key)
            existing[(kind, key)] = source
        update_discovered(source, values, now)
    for (kind, key), source in existing.items():
        if (kind, key) in wanted or kind == SourceKind.PUSHED or source.is_gone:
            continue
        if source.code_location in found.loaded_locations or not source.code_location:
            result.gone.append(key)
            source.mark_gone(now)
    link_lineage(deployment, found.assets, existing)
    result.instigators = apply_instigators(deployment, found, now)
    deployment.discovered_at = now
    deployment.workspace_fingerprint = workspace_fingerprint(found.locations)
    deployment.save(update_fields=["discovered_at", "workspace_fingerprint"])
    return result


def update_discovered(source: Source, values: dict[str, object], now: datetime) -> None:
    """Write Dagster-owned fields only: owner, runbook and notes belong to the operator."""
    changed = source.pk is None or source.is_gone
    for name, value in values.items():
        if getattr(source, name) != value:
            setattr(source, name, value)
            changed = True
    source.is_gone, source.gone_since = False, None
    if changed or source.last_seen_at is None or (now - source.last_seen_at).total_seconds() > 3600:
        source.last_seen_at = now
        source.save()


def link_lineage(
    deployment: Deployment,
    assets: list[parse.AssetDefinition],
    sources: dict[tuple[str, str], Source],
) -> None:
    """Bring the upstream links in line with Dagster's asset graph, in a few queries."""
    through = Source.upstream.through
    wanted: set[tuple[int, int]] = set()
    for asset in assets:
        downstream = sources[(SourceKind.ASSET, asset.key)]
        for upstream_key in asset.upstream_keys:
            upstream = sources.get((SourceKind.ASSET, upstream_key))
            if upstream is not None and upstream.pk != downstream.pk:
                wanted.add((downstream.pk, upstream.pk))
    current = set(
        through.objects.filter(from_source__deployment=deployment).values_list(
            "from_source_id", "to_source_id"
        )
    )
    through.objects.bulk_create(
        [through(from_source_id=a, to_source_id=b) for a, b in wanted - current]
    )
    for a, b in current - wanted:
        through.objects.filter(from_source_id=a, to_source_id=b).delete()


def apply_instigators(deployment: Deployment, found: parse.Discovery, now: datetime) -> int:
    existing = {(i.kind, i.code_location, i.name): i for i in deployment.instigators.all()}
    seen = set()
    for definition in found.instigators:
        key = (definition.kind, definition.code_location, definition.name)
        seen.add(key)
        instigator = existing.get(key) or Instigator(
            deployment=deployment,
            kind=definition.kind,
            code_location=definition.code_location,
            name=definition.name,
        )
        before = discovered_state(instigator)
        instigator.repository = definition.repository
        instigator.cron, instigator.timezone = definition.cron, definition.timezone
        instigator.observe_status(definition.status, now)
        instigator.state_id = definition.state_id
        instigator.target_jobs = definition.target_jobs
        instigator.min_interval_seconds = definition.min_interval_seconds
        instigator.is_gone = False
        if instigator.pk is None or discovered_state(instigator) != before:
            instigator.save()  # only a change: each save's signal reads the stored row
    for key, instigator in existing.items():
        if key not in seen and key[1] in found.loaded_locations and not instigator.is_gone:
            instigator.is_gone = True
            instigator.save(update_fields=["is_gone"])
    return len(seen)


DISCOVERED_INSTIGATOR_FIELDS = (
    "repository",
    "cron",
    "timezone",
    "status",
    "stopped_at",
    "state_id",
    "target_jobs",
    "min_interval_seconds",
    "is_gone",
)


def discovered_state(instigator: Instigator) -> tuple[object, ...]:
    return tuple(getattr(instigator, name) for name in DISCOVERED_INSTIGATOR_FIELDS)


# --- Runs -------------------------------------------------------------------------------------


def launch_reason(tags: dict[str, str], parent_run_id: str) -> str:
    if tags.get("dagster/schedule_name"):
        return LaunchReason.SCHEDULE
    if tags.get("dagster/sensor_name"):
        return LaunchReason.SENSOR
    if tags.get("dagster/backfill"):
        return LaunchReason.BACKFILL
    if parent_run_id or tags.get("dagster/parent_run_id"):
        return LaunchReason.RETRY
    return LaunchReason.MANUAL


def fill_run(run: Run, record: parse.RunRecord) -> None:
    tags = record.tags
    run.job_name, run.status, run.tags = record.job_name, record.status, tags
    run.created_at = utc(record.creation_time)
    run.started_at, run.ended_at = utc(record.start_time), utc(record.end_time)
    run.dagster_update_time = record.update_time
    if record.start_time is not None and record.end_time is not None:
        run.duration_s = max(record.end_time - record.start_time, 0.0)
    run.parent_run_id = record.parent_run_id or tags.get("dagster/parent_run_id", "")
    run.root_run_id = record.root_run_id or tags.get("dagster/root_run_id", "")
    run.launch_reason = launch_reason(tags, run.parent_run_id)
    run.schedule_name = tags.get("dagster/schedule_name", "")
    run.sensor_name = tags.get("dagster/sensor_name", "")
    run.backfill_id = tags.get("dagster/backfill", "")
    run.partition = run_partition(tags)
    retry_number = tags.get("dagster/retry_number", "")
    run.retry_number = int(retry_number) if retry_number.isdigit() else 0
    # Dagster tags a failed run it is about to retry; such a failure is not final yet.
    run.will_retry = tags.get("dagster/will_retry", "").lower() == "true"


# A run of a range of partitions (a single-run backfill, "materialize selected range") carries
# these instead of ``dagster/partition``.
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_partition(tags: dict[str, str]) -> str:
    """The run's partition key, or its range as "start…end": a range run is partitioned, so it
    is judged per partition (its range) rather than as an unpartitioned run of the asset."""
    partition = tags.get("dagster/partition", "")
    start, end = tags.get(RANGE_START, ""), tags.get(RANGE_END, "")
    if not partition and start and end:
        partition = start if start == end else f"{start}…{end}"
    return partition[:255]


def run_changed(run: Run, record: parse.RunRecord) -> bool:
    if run.pk is None:
        return True
    return (
        run.status != record.status
        or run.dagster_update_time != record.update_time
        or run.tags != record.tags
    )


# What a poll never reads of the sources it indexes: decoding these JSON and text fields for
# every source was most of a busy poll's cost of reading them.
INDEX_DEFERRED = (
    "description",
    "dagster_owners",
    "tags",
    "kinds",
    "freshness_policy",
    "asset_checks",
    "schedule_names",
    "sensor_names",
    "notes",
)


@dataclass
class SourceIndex:
    """The deployment's sources by asset key, job name and the jobs that materialise them."""

    by_asset_key: dict[str, Source]
    by_job_name: dict[str, Source]
    assets_of_job: dict[str, list[Source]]
    # Every source read or created, one instance per row: a poll that settles several runs
    # folds each into the same instance, so none saves a stale latest state over a newer one.
    by_pk: dict[int, Source] = field(default_factory=dict)

    @classmethod
    def load(cls, deployment: Deployment) -> SourceIndex:
        by_asset_key, by_job_name, by_pk = {}, {}, {}
        assets_of_job: dict[str, list[Source]] = defaultdict(list)
        for source in Source.objects.filter(deployment=deployment).defer(*INDEX_DEFERRED):
            by_pk[source.pk] = source
            if source.kind == SourceKind.ASSET:
                by_asset_key[source.key] = source
                for job_name in source.job_names:
                    assets_of_job[job_name].append(source)
            elif source.kind == SourceKind.JOB:
                by_job_name[source.key] = source
        return cls(by_asset_key, by_job_name, assets_of_job, by_pk)

    def by_pks(self, pks: Iterable[int]) -> set[Source]:
        """These sources, from the index (a source of another deployment is read once)."""
        missing = [pk for pk in pks if pk not in self.by_pk]
        self.by_pk.update((s.pk, s) for s in Source.objects.filter(pk__in=missing))
        return {self.by_pk[pk] for pk in pks if pk in self.by_pk}

    def planned(self, record: parse.RunRecord) -> list[Source]:
        """Sources a run is meant to produce: its asset selection, else its job's assets."""
        if record.asset_selection is not None:
            planned = [
                self.by_asset_key[k] for k in record.asset_selection if k in self.by_asset_key
            ]
        else:
            planned = list(self.assets_of_job.get(record.job_name, []))
        job = self.by_job_name.get(record.job_name)
        return [*planned, job] if job is not None else planned

    def asset(self, deployment: Deployment, key: str) -> Source:
        """An asset seen in events but not (yet) discovered is created, not dropped."""
        source = self.by_asset_key.get(key)
        if source is None:
            source, _ = Source.objects.get_or_create(
                deployment=deployment,
                kind=SourceKind.ASSET,
                key=key,
                defaults={"slug": unique_slug(deployment, key, set())},
            )
            self.by_asset_key[key] = self.by_pk[source.pk] = source
        return source


@dataclass
class RunsApplied:
    created: int = 0
    updated: int = 0
    finished: list[int] = field(default_factory=list)


@transaction.atomic
def apply_runs(
    deployment: Deployment, records: list[parse.RunRecord], high_water_mark: float | None
) -> RunsApplied:
    """Upsert runs by id and advance the high-water mark in the same transaction."""
    result = RunsApplied()
    records_by_id = {r.run_id: r for r in records}
    existing = {
        run.run_id: run
        for run in Run.objects.filter(deployment=deployment, run_id__in=list(records_by_id))
    }
    runs = (
        (existing.get(r.run_id) or Run(deployment=deployment, run_id=r.run_id), r)
        for r in records_by_id.values()
    )
    changed = [(run, record) for run, record in runs if run_changed(run, record)]
    # Most polls only see again the runs of the overlap window: no sources to read then.
    index = SourceIndex.load(deployment) if changed else SourceIndex({}, {}, {})
    planned_links: list[RunAsset] = []
    for run, record in changed:
        is_new = run.pk is None
        fill_run(run, record)
        run.save()
        result.created += is_new
        result.updated += not is_new
        if record.status in TERMINAL_RUN_STATUSES and not run.details_fetched:
            result.finished.append(run.pk)
        planned_links += [
            RunAsset.link(run, source, RunAssetOutcome.PLANNED) for source in index.planned(record)
        ]
    RunAsset.objects.bulk_create(planned_links, ignore_conflicts=True)
    if high_water_mark is not None and (
        deployment.runs_high_water_mark is None or high_water_mark > deployment.runs_high_water_mark
    ):
        deployment.runs_high_water_mark = high_water_mark
        deployment.save(update_fields=["runs_high_water_mark"])
    return result


# --- Run details ------------------------------------------------------------------------------


@transaction.atomic
def apply_run_details(
    run: Run, details: parse.RunDetails, index: SourceIndex | None = None
) -> set[int]:
    """Store a finished run's events, checks and errors; settle what it did to each source.
    Returns the ids of the sources it touched. A poll storing several runs passes one
    ``index`` of the deployment's sources for all of them (a failure ends the poll)."""
    deployment = run.deployment
    assert deployment is not None, "run details come from a Dagster deployment"
    index = index or SourceIndex.load(deployment)
    store_asset_events(run, deployment, index, details.asset_events)
    store_checks(run, deployment, index, details.checks)
    record_failure(run, details)
    outcomes = settle_outcomes(run, deployment, index, details)
    run.step_stats = details.step_stats
    run.details_fetched = True
    run.save()
    run.record_outcomes(outcomes, at=run.ended_at)
    return {source.pk for source in outcomes}


def store_asset_events(
    run: Run, deployment: Deployment, index: SourceIndex, events: list[parse.AssetEventRecord]
) -> None:
    AssetEvent.objects.bulk_create(
        [asset_event_row(index.asset(deployment, event.asset_key), event, run) for event in events],
        ignore_conflicts=True,
    )


def asset_event_row(
    source: Source, record: parse.AssetEventRecord, run: Run | None = None
) -> AssetEvent:
    """The stored row of one materialisation or observation, of a run or runless (no run)."""
    return AssetEvent(
        source=source,
        run=run,
        dagster_run_id=run.run_id if run else "",
        kind=record.kind,
        timestamp=utc_ms(record.timestamp_ms),
        dagster_timestamp=record.timestamp_ms,
        partition=record.partition[:255],
        step_key=record.step_key[:255],
        metrics=record.metrics,
        text_metadata=record.text_metadata,
    )


def store_checks(
    run: Run, deployment: Deployment, index: SourceIndex, checks: list[parse.CheckRecord]
) -> None:
    CheckResult.objects.bulk_create(
        [
            CheckResult(
                source=index.asset(deployment, check.asset_key),
                run=run,
                dagster_run_id=run.run_id,
                check_name=check.check_name,
                passed=check.passed,
                severity=check.severity,
                description=check.description,
                evaluated_at=utc(check.evaluated_at) or datetime.now(tz=UTC),
                metadata=check.metrics,
            )
            for check in checks
        ],
        ignore_conflicts=True,
    )


def record_failure(run: Run, details: parse.RunDetails) -> None:
    """The first failing step's own exception is the error operators need to read; a run that
    failed outside any step carries its run-level error."""
    failure = details.step_failures[0] if details.step_failures else details.run_error
    if failure is None:
        return
    run.error_class = failure.error_class[:255]
    run.error_message = failure.message[:ERROR_MESSAGE_LIMIT]
    run.failed_step = failure.step_key[:255]


def settle_outcomes(
    run: Run, deployment: Deployment, index: SourceIndex, details: parse.RunDetails
) -> dict[Source, Outcome]:
    """What the finished run did to each source it planned or produced, with its numbers."""
    metrics = metrics_by_asset(details)
    materialized = {
        e.asset_key for e in details.asset_events if e.kind == AssetEventKind.MATERIALIZATION
    }
    observed = {e.asset_key for e in details.asset_events if e.kind == AssetEventKind.OBSERVATION}
    failed_steps = {f.step_key for f in details.step_failures}
    sources = index.by_pks(set(run.run_assets.values_list("source_id", flat=True)))
    sources |= {index.asset(deployment, key) for key in materialized | observed}
    outcomes = {}
    for source in sources:
        outcome = outcome_for(source, run, materialized, observed, failed_steps)
        error = failure_of(source, run, details) if outcome == RunAssetOutcome.FAILED else None
        outcomes[source] = Outcome(
            outcome,
            metrics.get(source.key, {}),
            error.message[:ERROR_MESSAGE_LIMIT] if error else "",
            error.step_key[:255] if error else "",
        )
    return outcomes


def failure_of(source: Source, run: Run, details: parse.RunDetails) -> parse.StepFailure | None:
    """The failure that is this source's: its own step's (not the run's first failing step's),
    the run-level error when no step failed, the run's first failure for a job."""
    if source.kind != SourceKind.JOB:
        ops = op_names(source)
        for failure in details.step_failures:
            if failure.step_key in ops:
                return failure
    return details.step_failures[0] if details.step_failures else details.run_error


def metrics_by_asset(details: parse.RunDetails) -> dict[str, dict[str, float]]:
    """Each asset's numbers in this run (several events of one asset merge, later ones win)."""
    merged: dict[str, dict[str, float]] = {}
    for event in details.asset_events:
        merged.setdefault(event.asset_key, {}).update(event.metrics)
    return merged


def outcome_for(
    source: Source, run: Run, materialized: set[str], observed: set[str], failed_steps: set[str]
) -> str:
    if source.kind == SourceKind.JOB:
        return (
            RunAssetOutcome.MATERIALIZED
            if run.status == RunStatus.SUCCESS
            else (
                RunAssetOutcome.FAILED
                if run.status == RunStatus.FAILURE
                else RunAssetOutcome.SKIPPED
            )
        )
    if source.key in materialized:
        return RunAssetOutcome.MATERIALIZED
    if source.key in observed:
        return RunAssetOutcome.OBSERVED
    if failed_steps & op_names(source):
        return RunAssetOutcome.FAILED
    if run.status == RunStatus.FAILURE and not failed_steps:
        # The run failed outside any step (dropped from the queue, run worker killed, resource
        # or executor initialisation): every asset it was to produce failed with it.
        return RunAssetOutcome.FAILED
    return RunAssetOutcome.SKIPPED


def op_names(source: Source) -> set[str]:
    """The step keys that produce an asset: its ops, else the key as Dagster spells a step."""
    return set(source.op_names or [source.key.replace("/", "__")])


# --- Ticks ------------------------------------------------------------------------------------


LATEST_TICK_FIELDS = ("last_tick_status", "last_tick_at", "last_tick_error", "stopped_at")


@transaction.atomic
def apply_ticks(
    deployment: Deployment,
    location: str,
    ticks: list[parse.TickRecord],
    now: datetime,
    statuses: dict[tuple[str, str], str] | None = None,
) -> int:
    """Keep each instigator's latest tick, its status (``statuses``: every one's, ticked or
    not) and every failed tick; return failed ticks stored."""
    instigators = {
        (i.kind, i.name): i for i in deployment.instigators.filter(code_location=location)
    }
    failed = []
    latest: dict[tuple[str, str], parse.TickRecord] = {}
    for tick in ticks:
        key = (tick.kind, tick.name)
        if key not in instigators:
            continue
        if key not in latest or tick.timestamp > latest[key].timestamp:
            latest[key] = tick
        if tick.status == "FAILURE":
            failed.append(
                FailedTick(
                    instigator=instigators[key],
                    tick_id=tick.tick_id,
                    timestamp=utc(tick.timestamp) or datetime.now(tz=UTC),
                    error_class=tick.error_class[:255],
                    error_message=tick.error_message[:ERROR_MESSAGE_LIMIT],
                )
            )
    FailedTick.objects.bulk_create(failed, ignore_conflicts=True)
    for key, tick in latest.items():
        instigator = instigators[key]
        tick_at = utc(tick.timestamp)
        if instigator.last_tick_at is None or (tick_at and tick_at > instigator.last_tick_at):
            status = instigator.status
            instigator.last_tick_status, instigator.last_tick_at = tick.status, tick_at
            instigator.last_tick_error = tick.error_message[:ERROR_MESSAGE_LIMIT]
            instigator.observe_status(tick.instigator_status, now)
            if instigator.status != status:
                instigator.save()  # a status is judged: the save's signal makes sources due
            else:  # a tick is new data: no signal need compare it with the stored row
                Instigator.objects.filter(pk=instigator.pk).update(
                    **{name: getattr(instigator, name) for name in LATEST_TICK_FIELDS}
                )
    for key, status in (statuses or {}).items():
        known = instigators.get(key)
        if known is not None and status and status != known.status:
            known.observe_status(status, now)
            known.save(update_fields=["status", "stopped_at"])
    return len(failed)
