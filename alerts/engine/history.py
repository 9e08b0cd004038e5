"""Snapshots for rule kinds, loaded for many sources in a fixed number of queries.

The number of queries does not depend on the number of sources, and no query reads more than
about twice the last ``runs_per_source`` runs of each source (``recent_links`` bounds them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When, Window
from django.db.models.functions import RowNumber

from alerts.rules.base import (
    CheckSample,
    DeploymentHistory,
    OpenRun,
    RunSample,
    ScheduleSample,
    SourceHistory,
    StepTiming,
    StoppedInstigator,
    TickSample,
)
from monitoring.choices import AssetEventKind, RunAssetOutcome, RunOrigin, RunStatus
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
    blocking_check_names,
)

# Enough for the default rules: 7 runs of trailing volume, 3 same-weekday runs of a daily job,
# 20 durations; more only costs time at every evaluation.
RUNS_PER_SOURCE = 25
# Runless events kept per source: as many as runs (a sensor observing every few minutes keeps
# its latest ones, enough for freshness and a volume baseline).
RUNLESS_PER_SOURCE = RUNS_PER_SOURCE
CHECKS_PER_NAME = 1
TICKS_WINDOW = timedelta(hours=24)
STEP_STATS_BATCH = 5000
# Runs that should soon leave their status; ``run_stuck`` judges how long they have not.
WAITING_RUN_STATUSES = (
    RunStatus.QUEUED,
    RunStatus.NOT_STARTED,
    RunStatus.STARTING,
    RunStatus.CANCELING,
)
# What rules read of a source that an operator or a discovery sets: no poll judges a change to
# one, so a change makes the source due for the timer pass (``deadlines.JUDGED_SOURCE_FIELDS``).
SOURCE_SETTING_FIELDS = (
    "key",
    "kind",
    "deployment_id",
    "group_name",
    "tags",
    "first_seen_at",
    "schedule_names",
    "expected_cron",
    "expected_cron_timezone",
    "paused",
    "freshness_policy",
    "partitions_definition",
    "volume_metric",
)
# What ``load_sources`` leaves out by (gone sources, asset jobs on request): also a setting.
SOURCE_FILTER_FIELDS = ("is_gone", "is_asset_job")
# What rules read that every poll or sync writes: the evaluation after it judges the change.
SOURCE_POLLED_FIELDS = ("last_success_at", "last_failure_at", "metric_keys", "asset_checks")
SOURCE_FIELDS = ("pk", *SOURCE_SETTING_FIELDS, *SOURCE_POLLED_FIELDS, "deployment__ui_url")


def load_sources(
    sources: Iterable[Source] | None = None,
    runs_per_source: int = RUNS_PER_SOURCE,
    include_asset_jobs: bool = True,
) -> dict[int, SourceHistory]:
    """Histories of the given sources (default: every source that is not gone)."""
    query = Source.objects.filter(is_gone=False)
    if sources is not None:
        query = query.filter(pk__in=[s.pk for s in sources])
    if not include_asset_jobs:
        query = query.filter(is_asset_job=False)
    rows = list(query.values(*SOURCE_FIELDS))
    ids = [row["pk"] for row in rows]
    known_urls = {row["deployment_id"]: row["deployment__ui_url"] for row in rows}
    runs = load_runs(ids, runs_per_source, known_urls)
    runless = load_runless(ids, RUNLESS_PER_SOURCE)
    blocking = {row["pk"]: blocking_check_names(row["asset_checks"]) for row in rows}
    checks = load_checks(ids, blocking)
    scheduled = {row["deployment_id"] for row in rows if row["deployment_id"]}
    schedules = load_schedules(scheduled) if any(row["schedule_names"] for row in rows) else {}
    upstream = load_upstream(ids)
    return {
        row["pk"]: SourceHistory(
            source_id=row["pk"],
            key=row["key"],
            kind=row["kind"],
            deployment_id=row["deployment_id"],
            group=row["group_name"],
            tags=row["tags"] or {},
            first_seen_at=row["first_seen_at"],
            runs=tuple(runs.get(row["pk"], ())),
            last_success_at=row["last_success_at"],
            last_failure_at=row["last_failure_at"],
            checks=tuple(checks.get(row["pk"], ())),
            schedules=schedules_of(row, schedules),
            upstream_ids=tuple(upstream.get(row["pk"], ())),
            paused=row["paused"],
            freshness_policy=row["freshness_policy"] or {},
            partitions_definition=row["partitions_definition"],
            volume_metric=row["volume_metric"],
            metric_keys=tuple(row["metric_keys"] or {}),
            runless=tuple(runless.get(row["pk"], ())),
        )
        for row in rows
    }


def load_runs(
    source_ids: list[int], per_source: int, known_urls: Mapping[int, str] | None = None
) -> dict[int, list[RunSample]]:
    """The latest runs of each source, newest first: ranked on the run-asset index alone, then
    the run details of just those rows (a join over all history would sort it all: kept in
    Python instead, PostgreSQL hashed the whole run table, tests/monitoring/
    test_hot_query_plans.py). Every read of the link table is bounded per source
    (``recent_links``), so PostgreSQL seeks the (source, run_created_at) index. The step stats
    are read only for the runs whose materialising step is known. ``known_urls``: deployments'
    UI URLs the caller has read already (its sources'), so that only others are queried."""
    recent = recent_links(source_ids, per_source)
    latest = (
        RunAsset.objects.filter(recent)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("source_id")],
                order_by=[F("run_created_at").desc(nulls_last=True), F("pk").desc()],
            )
        )
        .filter(rank__lte=per_source)
        .values_list("pk", flat=True)
    )
    rows = (
        # A subquery, not a list of ids: SQLite caps the parameters of one statement.
        RunAsset.objects.filter(recent, pk__in=Subquery(latest))
        .annotate(step_key=materialising_step(), **own_failure())
        .order_by("source_id", F("run_created_at").desc(nulls_last=True), "-pk")
        .values_list(*RUN_FIELDS)
    )
    kept: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        kept[row[0]].append(row)
    stepped = {row[12] for source_rows in kept.values() for row in source_rows if row[13]}
    steps = load_step_stats(stepped)
    urls = dict(known_urls or {})
    unknown = {row[11] for source_rows in kept.values() for row in source_rows} - {*urls, None}
    if unknown:
        urls.update(Deployment.objects.filter(pk__in=unknown).values_list("pk", "ui_url"))
    return {
        source_id: [run_sample(row, urls, steps) for row in source_rows]
        for source_id, source_rows in kept.items()
    }


def recent_links(source_ids: list[int], per_source: int) -> Q:
    """The links of these sources that can be among each one's ``per_source`` newest: none
    older than the source's ``per_source``-th newest dated link (one index seek per source, in
    one query), and every undated one (they rank last). Sources are grouped by how old that
    bound is (powers of two of hours), each group bounded by its oldest member's, so the
    condition stays a few terms however many sources; a group reads at most about twice its
    members' newest links. No newest link is ever left out: ranking what it keeps gives what
    ranking every link would."""
    dated = RunAsset.objects.filter(source_id=OuterRef("pk"), run_created_at__isnull=False)
    newest_first = dated.order_by("-run_created_at").values("run_created_at")
    bounds = list(
        Source.objects.filter(pk__in=source_ids)
        .annotate(
            newest=Subquery(newest_first[:1]),
            bound=Subquery(newest_first[per_source - 1 : per_source]),
        )
        .values_list("pk", "newest", "bound")
    )
    # Ages are counted from the newest link of all (not the clock: replays run in the past).
    reference = max((newest for _, newest, _ in bounds if newest is not None), default=None)
    bounds_by_source = [(pk, bound) for pk, _, bound in bounds]
    unbounded = [pk for pk, bound in bounds_by_source if bound is None]
    groups: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for pk, bound in bounds_by_source:
        if bound is not None and reference is not None:
            hours = int((reference - bound).total_seconds() // 3600)
            groups[hours.bit_length()].append((pk, bound))
    condition = Q(source_id__in=source_ids, run_created_at__isnull=True)
    if unbounded:
        condition |= Q(source_id__in=unbounded)
    for members in groups.values():
        oldest = min(bound for _, bound in members)
        condition |= Q(source_id__in=[pk for pk, _ in members], run_created_at__gte=oldest)
    return condition


def load_runless(source_ids: list[int], per_source: int) -> dict[int, list[RunSample]]:
    """The latest events of each source reported outside any run, newest first, in one query
    whatever the number of sources (ranked in SQL), after a cheap look for any: most sources
    have none, and the ranked query costs more to compile than to run."""
    runless = AssetEvent.objects.filter(source_id__in=source_ids, run__isnull=True)
    if not runless.exists():
        return {}
    ranked = (
        runless.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("source_id")],
                order_by=[F("timestamp").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=per_source)
        .order_by("source_id", "-timestamp", "-pk")
        .values_list("source_id", "kind", "timestamp", "partition", "metrics")
    )
    events: dict[int, list[RunSample]] = defaultdict(list)
    for source_id, kind, at, partition, metrics in ranked:
        events[source_id].append(runless_sample(kind, at, partition, metrics))
    return events


def runless_sample(kind: str, at: datetime, partition: str, metrics: Any) -> RunSample:
    """A runless event as rules read a success: no run id, produced (or observed) at ``at``."""
    observed = kind == AssetEventKind.OBSERVATION
    return RunSample(
        run_id="",
        status=RunStatus.SUCCESS,
        outcome=RunAssetOutcome.OBSERVED if observed else RunAssetOutcome.MATERIALIZED,
        started_at=at,
        ended_at=at,
        duration_s=None,
        metrics=metrics or {},
        partition=partition or "",
        runless=True,
    )


def own_failure() -> dict[str, Case]:
    """Each failed source's own error and step (several steps of one run fail with their own
    exceptions); links stored before they kept one read the run's."""
    own = ~Q(error_message="")
    return {
        "own_error": Case(When(own, then=F("error_message")), default=F("run__error_message")),
        "own_step": Case(When(own, then=F("failed_step")), default=F("run__failed_step")),
    }


def materialising_step() -> Subquery:
    """The step key of the link's materialisation in its run (one lookup on the run's events)."""
    events = AssetEvent.objects.filter(
        run_id=OuterRef("run_id"),
        source_id=OuterRef("source_id"),
        kind=AssetEventKind.MATERIALIZATION,
    ).exclude(step_key="")
    return Subquery(events.values("step_key")[:1])


def load_step_stats(run_pks: set[int]) -> dict[int, list[Any]]:
    """Dagster's step stats of these runs, one row per run (a run of many assets is read once,
    not once per asset), in batches that stay under SQLite's limit of parameters; no query when
    no run has a known step."""
    ordered = sorted(run_pks)
    stats: dict[int, list[Any]] = {}
    for start in range(0, len(ordered), STEP_STATS_BATCH):
        batch = ordered[start : start + STEP_STATS_BATCH]
        rows = Run.objects.filter(pk__in=batch).values_list("pk", "step_stats")
        stats.update((pk, value) for pk, value in rows if value)
    return stats


def step_timing(key: str | None, stats: list[Any]) -> StepTiming | None:
    """How long step ``key`` took by its stats (float epoch seconds); None when not known."""
    if not key:
        return None
    for stat in stats:
        if not isinstance(stat, dict) or stat.get("stepKey") != key:
            continue
        start, end = stat.get("startTime"), stat.get("endTime")
        if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
            return StepTiming(key, datetime.fromtimestamp(start, UTC), float(end - start))
    return None


RUN_FIELDS = (
    "source_id",
    "outcome",
    "metrics",
    "run__run_id",
    "run__status",
    "run__started_at",
    "run__ended_at",
    "run__duration_s",
    "own_error",
    "own_step",
    "run__will_retry",
    "run__deployment_id",
    "run_id",
    "step_key",
    "run__partition",
    "run__backfill_id",
)


def run_sample(
    row: tuple[Any, ...], urls: dict[int, str], steps: dict[int, list[Any]]
) -> RunSample:
    (_, outcome, metrics, run_id, status, started, ended, duration, error, failed, retry, dep) = (
        row[:12]
    )
    run_pk, step_key, partition, backfill_id = row[12:]
    ui = (urls.get(dep) or "").rstrip("/")
    return RunSample(
        run_id=run_id,
        status=status,
        outcome=outcome,
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        metrics=metrics or {},
        error=error or "",
        failed_step=failed or "",
        will_retry=retry,
        url=f"{ui}/runs/{run_id}" if ui else "",
        step=step_timing(step_key, steps.get(run_pk, [])),
        partition=partition or "",
        backfill_id=backfill_id or "",
    )


def recorded_sample(run: Run, result: Outcome, ui_url: str) -> RunSample:
    """A run just recorded, as ``load_runs`` reads it back (its own failure, else the run's; no
    materialising step yet), without reading it: the replay keeps its histories in memory."""
    ui = ui_url.rstrip("/")
    return RunSample(
        run_id=run.run_id,
        status=run.status,
        outcome=result.outcome,
        started_at=run.started_at,
        ended_at=run.ended_at,
        duration_s=run.duration_s,
        metrics=result.metrics or {},
        error=result.error or run.error_message or "",
        failed_step=result.failed_step or run.failed_step or "",
        will_retry=run.will_retry,
        url=f"{ui}/runs/{run.run_id}" if ui else "",
        partition=run.partition or "",
        backfill_id=run.backfill_id or "",
    )


def load_checks(
    source_ids: list[int], blocking: Mapping[int, set[str]] | None = None
) -> dict[int, list[CheckSample]]:
    """The latest evaluations of each check, newest first; ``blocking`` names each source's
    declared blocking checks (from discovery: an evaluation does not say)."""
    blocking = blocking or {}
    results = CheckResult.objects.filter(source_id__in=source_ids)
    if not results.exists():  # as for runless events: cheaper than compiling the ranked query
        return {}
    ranked = (
        results.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("source_id"), F("check_name")],
                order_by=[F("evaluated_at").desc()],
            )
        )
        .filter(rank__lte=CHECKS_PER_NAME)
        .values(
            "source_id",
            "check_name",
            "passed",
            "severity",
            "description",
            "evaluated_at",
            "dagster_run_id",
        )
        .order_by("source_id", "-evaluated_at")
    )
    checks: dict[int, list[CheckSample]] = defaultdict(list)
    for row in ranked:
        checks[row["source_id"]].append(
            CheckSample(
                check_name=row["check_name"],
                passed=row["passed"],
                severity=row["severity"],
                description=row["description"],
                evaluated_at=row["evaluated_at"],
                run_id=row["dagster_run_id"],
                blocking=row["check_name"] in blocking.get(row["source_id"], set()),
            )
        )
    return checks


def load_schedules(deployment_ids: set[int]) -> dict[tuple[int, str], ScheduleSample]:
    rows = Instigator.objects.filter(
        deployment_id__in=deployment_ids, kind="schedule", is_gone=False
    ).values("deployment_id", "name", "cron", "timezone", "status")
    return {
        (row["deployment_id"], row["name"]): ScheduleSample(
            name=row["name"],
            cron=row["cron"],
            timezone=row["timezone"] or "UTC",
            running=row["status"] == "RUNNING",
        )
        for row in rows
    }


def schedules_of(
    row: dict[str, object], schedules: dict[tuple[int, str], ScheduleSample]
) -> tuple[ScheduleSample, ...]:
    """Dagster schedules that target the source, or the expected cron of a pushed source."""
    found = [
        schedules[(row["deployment_id"], name)]  # type: ignore[index]
        for name in row["schedule_names"] or []  # type: ignore[attr-defined]
        if (row["deployment_id"], name) in schedules
    ]
    if row["expected_cron"]:
        found.append(
            ScheduleSample(
                name="expected",
                cron=str(row["expected_cron"]),
                timezone=str(row["expected_cron_timezone"] or "UTC"),
                running=True,
            )
        )
    return tuple(found)


def load_upstream(source_ids: list[int]) -> dict[int, list[int]]:
    through = Source.upstream.through
    links = through.objects.filter(from_source_id__in=source_ids).values_list(
        "from_source_id", "to_source_id"
    )
    upstream: dict[int, list[int]] = defaultdict(list)
    for downstream_id, upstream_id in links:
        upstream[downstream_id].append(upstream_id)
    return upstream


def load_deployments(
    now: datetime, deployment_ids: Collection[int] | None = None
) -> dict[int, DeploymentHistory]:
    """Every deployment's history, or only those of ``deployment_ids``: an evaluation of one
    deployment's sources reads its own, not the fleet's (ticks, open runs, instigators)."""
    ticks: dict[int, list[TickSample]] = defaultdict(list)
    for tick in (
        of_deployments(
            FailedTick.objects.filter(timestamp__gte=now - TICKS_WINDOW),
            "instigator__deployment",
            deployment_ids,
        )
        .select_related("instigator")
        .order_by("-timestamp")
    ):
        ticks[tick.instigator.deployment_id].append(
            TickSample(
                instigator=tick.instigator.name,
                kind=tick.instigator.kind,
                tick_id=tick.tick_id,
                at=tick.timestamp,
                error=tick.error_message,
            )
        )
    statuses: dict[int, dict[str, str]] = defaultdict(dict)
    for deployment_id, name, status in (
        of_deployments(Instigator.objects.filter(is_gone=False), "deployment", deployment_ids)
        .exclude(Q(last_tick_status=""))
        .values_list("deployment_id", "name", "last_tick_status")
    ):
        statuses[deployment_id][name] = status
    open_runs = load_open_runs(deployment_ids)
    stopped = load_stopped_instigators(deployment_ids)
    return {
        d.pk: DeploymentHistory(
            deployment_id=d.pk,
            name=d.name,
            enabled=d.enabled,
            last_success_at=d.last_success_at,
            failing_since=d.failing_since,
            last_error=d.last_error,
            consecutive_failures=d.consecutive_failures,
            daemon_health=d.daemon_health or {},
            code_location_errors=d.code_location_errors or {},
            failed_ticks=tuple(ticks.get(d.pk, ())),
            instigator_last_status=statuses.get(d.pk, {}),
            open_runs=tuple(open_runs.get(d.pk, ())),
            stopped_instigators=tuple(stopped.get(d.pk, ())),
        )
        for d in of_deployments(Deployment.objects.all(), "pk", deployment_ids)
    }


def of_deployments(
    rows: QuerySet[Any], field: str, deployment_ids: Collection[int] | None
) -> QuerySet[Any]:
    return rows if deployment_ids is None else rows.filter(**{f"{field}__in": list(deployment_ids)})


def load_open_runs(deployment_ids: Collection[int] | None = None) -> dict[int, list[OpenRun]]:
    """Each deployment's Dagster runs waiting to start or stop, oldest first (running ones are
    ``duration``'s): a run entered QUEUED at its creation and any later status at its last
    status change (Dagster's updateTime)."""
    runs: dict[int, list[OpenRun]] = defaultdict(list)
    rows = (
        of_deployments(Run.objects.all(), "deployment", deployment_ids)
        .filter(origin=RunOrigin.DAGSTER, deployment__isnull=False, status__in=WAITING_RUN_STATUSES)
        .order_by("created_at")
        .values_list(
            "deployment_id", "run_id", "job_name", "status", "created_at", "dagster_update_time"
        )
    )
    for deployment_id, run_id, job, status, created, updated in rows:
        changed = datetime.fromtimestamp(updated, UTC) if updated is not None else None
        since = created if status == RunStatus.QUEUED or changed is None else changed
        if since is not None:
            runs[deployment_id].append(OpenRun(run_id, job, status, since))
    return runs


def load_stopped_instigators(
    deployment_ids: Collection[int] | None = None,
) -> dict[int, list[StoppedInstigator]]:
    stopped: dict[int, list[StoppedInstigator]] = defaultdict(list)
    rows = of_deployments(
        Instigator.objects.filter(is_gone=False, status="STOPPED", stopped_at__isnull=False),
        "deployment",
        deployment_ids,
    )
    for deployment_id, name, kind, at, jobs in rows.values_list(
        "deployment_id", "name", "kind", "stopped_at", "target_jobs"
    ):
        if at is not None:  # filtered above; the type cannot know
            stopped[deployment_id].append(StoppedInstigator(name, kind, at, tuple(jobs or ())))
    return stopped
