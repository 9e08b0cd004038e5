"""Polling a Dagster deployment: ask only for what changed, store it, record the outcome.

One poll is: one request for the version, daemon health, code locations and the first page of
runs updated since the high-water mark (minus an overlap); further pages while a page is full;
discovery when a code location changed (or every few minutes); details (errors, metrics, checks)
of runs that finished; failed ticks every half minute. Any Dagster error is recorded on the
deployment and the cursor stays where the stored data ends, so the next good poll catches up.
So is any other exception (an answer no parser foresaw, the task's soft time limit): a poll
never crashes with nothing recorded. Every error text is redacted before it is stored or logged.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from monitoring import runless, signals, sync
from monitoring.choices import TERMINAL_RUN_STATUSES
from monitoring.dagster import parse
from monitoring.dagster.client import DagsterClient, load_query
from monitoring.dagster.errors import DagsterError, DagsterErrorUnion
from monitoring.models import POLL_DUE_SLACK, Deployment, PollRecord, Run

logger = logging.getLogger(__name__)

# Failed ticks read per schedule or sensor and poll (only failures are paged: generous).
TICKS_PAGE = 50


def client_for(deployment: Deployment) -> DagsterClient:
    return DagsterClient(
        deployment.graphql_url,
        headers=deployment.request_headers(),
        timeout=settings.DAGSTER_REQUEST_TIMEOUT_SECONDS,
        max_response_bytes=settings.DAGSTER_MAX_RESPONSE_MB * 1024 * 1024,
    )


@dataclass
class PollStats:
    """What one poll fetched and stored, kept on the deployment and in its poll record."""

    requests: int = 0
    runs_fetched: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    run_details: int = 0
    run_detail_errors: int = 0
    discovered: bool = False
    sources_created: int = 0
    sources_gone: int = 0
    failed_ticks: int = 0
    touched_sources: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in self.__dict__.items() if k != "touched_sources"}
        values["touched_sources"] = len(self.touched_sources)
        return values


class Poller:
    """One poll of one deployment; ``now`` is injected so polls can be replayed in tests."""

    def __init__(self, deployment: Deployment, now: datetime, client: DagsterClient) -> None:
        self.deployment = deployment
        self.now = now
        self.client = client
        self.stats = PollStats()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        self.stats.requests += 1
        return self.client.execute(load_query(query), variables)

    def run(self) -> None:
        answer = parse.poll_answer(self.execute("poll", self.runs_variables()))
        self.deployment.dagster_version = answer.version
        sync.apply_health(self.deployment, answer)
        if self.discovery_due(answer.locations):
            self.discover()
        self.store_runs(answer.runs)
        self.fetch_run_details()
        if self.ticks_due():
            self.fetch_ticks()
            self.fetch_runless_events()

    # --- runs

    def runs_variables(self, cursor: str | None = None) -> dict[str, Any]:
        since = self.deployment.runs_high_water_mark
        if since is None:
            lookback = timedelta(days=settings.DAGSTER_INITIAL_LOOKBACK_DAYS)
            since = (self.now - lookback).timestamp()
        else:
            # updatedAfter is strict and clocks skew: overlap, and let the upsert dedupe.
            since -= settings.DAGSTER_POLL_OVERLAP_SECONDS
        variables: dict[str, Any] = {
            "filter": {"updatedAfter": since},
            "limit": settings.DAGSTER_RUNS_PAGE_SIZE,
        }
        if cursor:
            variables["cursor"] = cursor
        return variables

    def store_runs(self, first_page: list[parse.RunRecord]) -> None:
        """Page through a burst (results are newest-created first), then store all at once."""
        records, page = list(first_page), first_page
        while len(page) >= settings.DAGSTER_RUNS_PAGE_SIZE:
            data = self.execute("runs_page", self.runs_variables(cursor=page[-1].run_id))
            page = parse.runs_page(data.get("runsOrError"))
            records += page
        self.stats.runs_fetched = len(records)
        high_water_mark = max((r.update_time for r in records if r.update_time), default=None)
        if not records:
            return
        applied = sync.apply_runs(self.deployment, records, high_water_mark)
        self.stats.runs_created, self.stats.runs_updated = applied.created, applied.updated

    def fetch_run_details(self) -> None:
        """Details of finished runs not yet detailed; a run that fails here is retried later."""
        pending = Run.objects.filter(
            deployment=self.deployment, status__in=TERMINAL_RUN_STATUSES, details_fetched=False
        ).order_by("ended_at")[: settings.DAGSTER_MAX_RUN_DETAILS_PER_POLL]
        index: sync.SourceIndex | None = None  # read once per poll, when a run is detailed
        for run in pending:
            try:
                details = self.run_details(run.run_id)
            except DagsterError as exc:
                self.stats.run_detail_errors += 1
                error = self.deployment.redact(str(exc))
                logger.warning("details of run %s failed: %s", run.run_id, error)
                continue
            index = index or sync.SourceIndex.load(self.deployment)
            self.stats.touched_sources |= sync.apply_run_details(run, details, index)
            self.stats.run_details += 1

    def run_details(self, run_id: str) -> parse.RunDetails:
        variables: dict[str, Any] = {"runId": run_id, "limit": 1000}
        details = parse.run_details(self.execute("run_details", variables))
        while details.has_more:
            variables["after"] = details.cursor
            details = parse.run_details(self.execute("run_details", variables), details)
        return details

    def fetch_runless_events(self) -> None:
        """Materialisations and observations reported outside runs, at the ticks' rhythm. A
        failure skips them this time (they are read again from the same point next time): the
        runs already stored must not be lost with the poll."""
        variables = {
            "after": runless.read_after(self.deployment, self.now),
            "limit": runless.EVENTS_PER_ASSET,
        }
        try:
            records = runless.runless_events(self.execute("runless_events", variables))
        except DagsterError as exc:
            error = self.deployment.redact(str(exc))
            logger.warning("runless events of %s skipped: %s", self.deployment.name, error)
            return
        stored = runless.store_runless_events(self.deployment, records)
        self.stats.touched_sources |= stored.source_ids

    # --- discovery and ticks

    def discovery_due(self, locations: list[parse.LocationState]) -> bool:
        if self.deployment.discovered_at is None:
            return True
        if sync.workspace_fingerprint(locations) != self.deployment.workspace_fingerprint:
            return True
        age = (self.now - self.deployment.discovered_at).total_seconds()
        return age >= settings.DAGSTER_DISCOVERY_INTERVAL_SECONDS

    def discover(self) -> None:
        found = parse.discovery(self.execute("discovery"))
        result = sync.apply_discovery(self.deployment, found, self.now)
        self.stats.discovered = True
        self.stats.sources_created = len(result.created)
        self.stats.sources_gone = len(result.gone)

    def ticks_due(self) -> bool:
        last = self.deployment.ticks_polled_at
        return (
            last is None
            or (self.now - last).total_seconds() >= settings.DAGSTER_TICKS_INTERVAL_SECONDS
        )

    def fetch_ticks(self) -> None:
        since = self.deployment.ticks_high_water_mark
        if since is None:
            since = (self.now - timedelta(days=1)).timestamp()
        newest, skipped = since, False
        broken = set(self.deployment.code_location_errors)
        locations = (
            self.deployment.instigators.filter(is_gone=False)
            .exclude(code_location__in=broken)
            .values_list("code_location", "repository")
            .order_by()  # the model's ordering would make each instigator its own request
            .distinct()
        )
        for location, repository in locations:
            try:
                ticks, statuses = self.location_ticks(location, repository, since)
            except DagsterErrorUnion as exc:
                # One location gone or broken must not fail the poll (and so the deployment);
                # the cursor stays so its failed ticks are read once it is back.
                error = self.deployment.redact(str(exc))
                logger.warning("ticks of %s skipped: %s", location, error)
                skipped = True
                continue
            self.stats.failed_ticks += sync.apply_ticks(
                self.deployment, location, ticks, self.now, statuses
            )
            newest = max([newest, *(t.timestamp for t in ticks if t.status == "FAILURE")])
        if not skipped:
            self.deployment.ticks_high_water_mark = newest
        self.deployment.ticks_polled_at = self.now
        self.deployment.save(update_fields=["ticks_high_water_mark", "ticks_polled_at"])

    def location_ticks(
        self, location: str, repository: str, since: float
    ) -> tuple[list[parse.TickRecord], dict[tuple[str, str], str]]:
        """The location's ticks since ``since`` and every schedule's and sensor's status."""
        selector = {"repositoryLocationName": location, "repositoryName": repository}
        variables = {
            "repository": selector,
            "since": since - settings.DAGSTER_POLL_OVERLAP_SECONDS,
            "limit": TICKS_PAGE,
        }
        data = self.execute("ticks", variables)
        return parse.ticks(data), parse.instigator_statuses(data)


def poll_deployment(
    deployment: Deployment, now: datetime, client: DagsterClient | None = None
) -> bool:
    """Poll once, record the outcome on the deployment and in a poll record; a failure of any
    kind is recorded, never raised. Returns whether the poll succeeded."""
    poller = Poller(deployment, now, client or client_for(deployment))
    started = time.perf_counter()
    failure: Exception | None = None
    try:
        poller.run()
    except Exception as exc:  # whatever went wrong, the poll is recorded as failed
        failure = exc
    duration_ms = (time.perf_counter() - started) * 1000
    stats = poller.stats.as_dict()
    error = ""
    if failure is not None:
        # The model redacts what it stores; the record and the log take its redacted text.
        deployment.record_poll_failure(failure_text(failure), now, duration_ms, stats)
        error = deployment.last_error
        log_failure(deployment, failure, error, stats)
    else:
        deployment.record_poll_success(now, duration_ms, deployment.dagster_version, stats)
    PollRecord.objects.create(
        deployment=deployment,
        started_at=now,
        duration_ms=duration_ms,
        ok=failure is None,
        error=error,
        stats=stats,
    )
    if poller.stats.touched_sources:
        signals.sources_touched.send(
            sender=Deployment,
            deployment=deployment,
            source_ids=poller.stats.touched_sources,
            now=now,
        )
    return failure is None


def failure_text(exc: Exception) -> str:
    """A Dagster error's own one-line summary; anything else named by its type."""
    return str(exc) if isinstance(exc, DagsterError) else f"{type(exc).__name__}: {exc}"


def log_failure(deployment: Deployment, exc: Exception, error: str, stats: dict[str, Any]) -> None:
    extra = {"deployment": deployment.pk, "poll_stats": stats}
    if isinstance(exc, DagsterError):
        logger.warning("poll of deployment %s failed: %s", deployment.name, error, extra=extra)
        return
    # The frames (file, line, code) without the exception's text, which may quote secrets.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "poll of deployment %s failed unexpectedly: %s\n%s",
        deployment.name,
        error,
        frames,
        extra=extra,
    )


def poll_lock_key(deployment_id: int) -> str:
    return f"confops:poll-lock:{deployment_id}"


def poll_with_lock(deployment_id: int, now: datetime) -> bool | None:
    """Poll unless another poll of the same deployment holds the lock; None when skipped.

    The lock expires on its own, so a worker that dies mid-poll cannot block polling for long.
    """
    key = poll_lock_key(deployment_id)
    if not cache.add(key, "locked", timeout=settings.CELERY_TASK_TIME_LIMIT):
        return None
    try:
        deployment = Deployment.objects.filter(pk=deployment_id, enabled=True).first()
        if deployment is None:
            return None
        return poll_deployment(deployment, now)
    finally:
        cache.delete(key)


def claim_due_deployments(now: datetime) -> list[int]:
    """Deployments due for a poll, each claimed with a compare-and-swap on ``next_poll_at`` so
    a slow worker queue never collects several polls of one deployment."""
    claimed = []
    for deployment in Deployment.objects.filter(enabled=True).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now + POLL_DUE_SLACK)
    ):
        if not deployment.is_due(now):
            continue
        claim_until = now + timedelta(seconds=deployment.poll_interval_seconds)
        won = Deployment.objects.filter(
            pk=deployment.pk, next_poll_at=deployment.next_poll_at
        ).update(next_poll_at=claim_until)
        if won:
            claimed.append(deployment.pk)
    return claimed


def prune_poll_records(now: datetime) -> int:
    cutoff = now - timedelta(hours=settings.POLL_RECORD_RETENTION_HOURS)
    deleted, _ = PollRecord.objects.filter(started_at__lt=cutoff).delete()
    return deleted
