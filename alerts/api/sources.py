"""Sources: list and read them with the state the status page shows (from their open alerts),
change an operator's settings (owner, runbook, notes, pause, expected cron) and choose the
metadata key their volume is judged by."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field, StrictBool

from alerts.api.common import NOT_FOUND, StrictIn, actor, admin_auth, operate_auth, read_auth
from alerts.pages import source as source_page
from alerts.pages import status as status_page
from confops.common.api import (
    AUTH_ERRORS,
    ApiError,
    ErrorOut,
    PageOut,
    PageQuery,
    QueryBool,
    get_or_404,
    invalid,
    paginate,
)
from monitoring import operations
from monitoring.choices import HealthState, RunAssetOutcome, RunStatus, SourceKind
from monitoring.filters import PUSHED, StatusFilters
from monitoring.models import Deployment, RunAsset, Source
from monitoring.status import OpenAlerts, deployment_problem, source_health

router = Router()

RECENT_RUNS = 10
RUNS_SUMMARY_DAYS = 7


class OpenAlertsOut(Schema):
    """Firing and acknowledged alerts of the source, by severity."""

    critical: int
    warning: int
    info: int
    total: int


class MetricKeyOut(Schema):
    """A numeric metadata key the source reported: its last value, in how many successes, and
    when last."""

    last: float | None = None
    reports: int = 0
    at: datetime | None = None


class SourceOut(Schema):
    """A source with the state its status page cell shows, and why."""

    slug: str
    key: str
    kind: str
    deployment: str | None
    group: str
    owner: str
    tags: dict[str, Any]
    state: str
    state_reason: str
    paused: bool
    is_gone: bool
    last_run_at: datetime | None
    last_status: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_metrics: dict[str, Any]
    runbook_slug: str
    expected_cron: str
    expected_cron_timezone: str
    notes: str
    volume_metric: str = Field(description="The operator's volume key; empty: automatic.")
    volume_key: str | None = Field(
        description="The key the volume rules, the grid's Count and the chart use; null: none."
    )
    metric_keys: dict[str, MetricKeyOut] = Field(
        description="Every numeric metadata key the source reported, to choose the volume from."
    )
    open_alerts: OpenAlertsOut


class SourcePage(PageOut):
    results: list[SourceOut]


class RunOut(Schema):
    run_id: str
    status: str
    outcome: str
    created_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    metrics: dict[str, Any]
    error: str


class RunsSummaryOut(Schema):
    """Runs of the source created in the last `days` days."""

    days: int
    total: int
    succeeded: int
    failed: int


class CoveringRuleOut(Schema):
    """A rule whose scope covers the source, with the parameters in force here."""

    id: int
    name: str
    kind: str
    enabled: bool
    active: bool
    parameters: dict[str, Any]
    override: dict[str, Any] | None


class SourceDetailOut(SourceOut):
    recent_runs: list[RunOut]
    runs_summary: RunsSummaryOut
    rules: list[CoveringRuleOut]


class SourceFilters(Schema):
    state: HealthState | None = None
    deployment: str | None = None
    group: str | None = None
    kind: SourceKind | None = None
    tag: str | None = None
    owner: str | None = None
    gone: QueryBool = False  # true: only the gone sources; false (the default): only present


def alerts_out(alerts: OpenAlerts) -> OpenAlertsOut:
    return OpenAlertsOut(
        critical=alerts.critical, warning=alerts.warning, info=alerts.info, total=alerts.total
    )


def source_out(source: Source, state: str, reason: str, alerts: OpenAlerts) -> dict[str, Any]:
    return {
        "slug": source.slug,
        "key": source.key,
        "kind": source.kind,
        "deployment": source.deployment.name if source.deployment else None,
        "group": source.group_name,
        "owner": source.owner,
        "tags": source.tags or {},
        "state": state,
        "state_reason": reason,
        "paused": source.paused,
        "is_gone": source.is_gone,
        "last_run_at": source.last_run_at,
        "last_status": (source.last_status or "").lower(),
        "last_success_at": source.last_success_at,
        "last_failure_at": source.last_failure_at,
        "last_metrics": source.last_metrics or {},
        "runbook_slug": source.runbook_slug,
        "expected_cron": source.expected_cron,
        "expected_cron_timezone": source.expected_cron_timezone,
        "notes": source.notes,
        "volume_metric": source.volume_metric,
        "volume_key": source_page.chosen_key(source),
        "metric_keys": source.metric_keys or {},
        "open_alerts": alerts_out(alerts),
    }


def problems(now: datetime) -> dict[int, str]:
    """Why each deployment's sources cannot be vouched for ("" when its polls succeed)."""
    return {
        d.pk: deployment_problem(
            d.enabled, d.last_success_at, d.consecutive_failures, d.failing_since, now
        )
        for d in Deployment.objects.all()
    }


def sources_matching(filters: SourceFilters) -> QuerySet[Source]:
    sources = Source.objects.select_related("deployment").order_by("deployment__name", "key")
    sources = sources.filter(is_gone=filters.gone)
    if filters.kind:
        sources = sources.filter(kind=filters.kind)
    if filters.group:
        sources = sources.filter(group_name=filters.group)
    if filters.deployment == PUSHED:
        sources = sources.filter(deployment__isnull=True)
    elif filters.deployment:
        sources = sources.filter(deployment__name=filters.deployment)
    return sources


def sources_with_state(filters: SourceFilters, now: datetime) -> list[dict[str, Any]]:
    """Every matching source judged as the status page judges it (one query for the alerts)."""
    totals = status_page.open_alerts()
    problem = problems(now)
    narrow = StatusFilters(tag=filters.tag or "", owner=filters.owner or "")
    rows = []
    for source in sources_matching(filters):
        if not narrow.matches(None, "", source.tags or {}, source.owner, source.dagster_owners):
            continue
        alerts = totals.by_source.get(source.pk, OpenAlerts())
        health = source_health(
            paused=source.paused,
            deployment_problem=problem.get(source.deployment_id or 0, ""),
            alerts=alerts,
            last_run_at=source.last_run_at,
            last_success_at=source.last_success_at,
            now=now,
        )
        if filters.state and health.state != filters.state:
            continue
        rows.append(source_out(source, health.state, health.reason, alerts))
    return rows


@router.get(
    "/sources",
    auth=read_auth,
    response={200: SourcePage, AUTH_ERRORS: ErrorOut},
    tags=["sources"],
    summary="List sources with their state",
    description=(
        "The state is the status page's: `healthy`, `warning`, `critical` (from open alerts), "
        "`recovering` (every open alert has cleared and waits out its resolve hold), "
        "`unknown` (never run, deployment unreachable, ...) or `paused`. Filters: `state`, "
        "`deployment` (a name, or `-` for pushed sources), `group`, `kind`, `tag` (`key` or "
        "`key=value`), `owner`; `gone=true` lists only the sources gone from Dagster, "
        "`gone=false` (the default) only the present ones."
    ),
    url_name="source-list",
    operation_id="monitoring_api_list_sources",
)
def list_sources(
    request: HttpRequest, filters: Query[SourceFilters], page: Query[PageQuery]
) -> dict[str, Any]:
    rows, links = paginate(request, sources_with_state(filters, timezone.now()), page)
    return {**links, "results": rows}


@router.get(
    "/sources/{slug}",
    auth=read_auth,
    response={200: SourceDetailOut, frozenset({*AUTH_ERRORS, 404}): ErrorOut},
    tags=["sources"],
    summary="Read a source",
    description=(
        "Its state, the last runs, a summary of the last 7 days' runs, its open alerts and the "
        "rules that cover it with the parameters in force here (per-source overrides applied)."
    ),
    url_name="source-detail",
    operation_id="monitoring_api_read_source",
)
def read_source(request: HttpRequest, slug: str) -> dict[str, Any]:
    now = timezone.now()
    source = get_or_404(Source.objects.select_related("deployment"), "source", slug=slug)
    alerts = list(
        source.alerts.filter(state__in=status_page.VISIBLE_ALERT_STATES).select_related("rule")
    )
    health = source_page.health(source, alerts, now)
    counts = {s: sum(a.severity == s for a in alerts) for s in ("critical", "warning", "info")}
    body = source_out(source, health.state, health.reason, OpenAlerts(**counts))
    return {
        **body,
        "recent_runs": recent_runs(source),
        "runs_summary": runs_summary(source, now),
        "rules": [covering_rule(line) for line in source_page.covering_rules(source)],
    }


def recent_runs(source: Source) -> list[dict[str, Any]]:
    links = (
        RunAsset.objects.filter(source=source)
        .select_related("run")
        .order_by(F("run_created_at").desc(nulls_last=True), "-pk")[:RECENT_RUNS]
    )
    return [
        {
            "run_id": link.run.run_id,
            "status": link.run.status.lower(),
            "outcome": link.outcome,
            "created_at": link.run_created_at,
            "ended_at": link.run.ended_at,
            "duration_s": link.run.duration_s,
            "metrics": link.metrics or {},
            "error": link.error if link.outcome == RunAssetOutcome.FAILED else "",
        }
        for link in links
    ]


def runs_summary(source: Source, now: datetime) -> dict[str, int]:
    since = now - timedelta(days=RUNS_SUMMARY_DAYS)
    counts = RunAsset.objects.filter(source=source, run_created_at__gte=since).aggregate(
        total=Count("pk"),
        succeeded=Count("pk", filter=Q(run__status=RunStatus.SUCCESS)),
        failed=Count("pk", filter=Q(run__status=RunStatus.FAILURE)),
    )
    return {"days": RUNS_SUMMARY_DAYS, **counts}


def covering_rule(line: source_page.RuleLine) -> dict[str, Any]:
    override = line.override
    return {
        "id": line.rule.pk,
        "name": line.rule.name,
        "kind": line.rule.kind,
        "enabled": line.rule.enabled,
        "active": line.active,
        "parameters": line.parameters,
        "override": {"parameters": override.parameters, "enabled": override.enabled}
        if override
        else None,
    }


class SourceChange(StrictIn):
    """What an operator sets on a source (discovery owns the rest)."""

    owner: str | None = Field(None, max_length=255)
    runbook_slug: str | None = Field(None, max_length=200)
    notes: str | None = None
    paused: StrictBool | None = Field(None, description="A paused source is not judged.")
    expected_cron: str | None = Field(
        None, max_length=100, description="For pushed sources: when runs are expected."
    )
    expected_cron_timezone: str | None = Field(None, max_length=64)


# Beside GET /sources/{slug}, on the same router: ninja answers one path from one router (a
# second router's pattern for the same path would never be reached).
@router.patch(
    "/sources/{slug}",
    auth=admin_auth,
    response={200: SourceDetailOut, NOT_FOUND: ErrorOut},
    tags=["sources"],
    summary="Change a source's operator settings",
    description="Owner, runbook, notes, pause and expected cron, validated as in the admin. "
    "Audited.",
    url_name="source-update",
)
def update_source(request: HttpRequest, slug: str, body: SourceChange) -> dict[str, Any]:
    user, label = actor(request)
    data = body.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in data.items() if value is None)
    if nulls:
        raise ApiError(
            400, f"invalid request ({', '.join(nulls)})", dict.fromkeys(nulls, "may not be null")
        )
    with transaction.atomic():
        source = get_or_404(Source.objects.select_for_update(of=("self",)), "source", slug=slug)
        before = operations.source_snapshot(source)
        for name, value in data.items():
            setattr(source, name, value)
        try:
            operations.save_source(source, before, user, timezone.now(), label, list(data))
        except DjangoValidationError as exc:
            raise invalid(exc) from exc
    return read_source(request, slug)


class VolumeMetricChange(StrictIn):
    volume_metric: str = Field(
        max_length=100,
        description="A metadata key the source reports (e.g. sku_count, Number of records); "
        "empty: chosen automatically.",
    )


@router.put(
    "/sources/{slug}/volume-metric",
    auth=operate_auth,
    response={200: SourceDetailOut, NOT_FOUND: ErrorOut},
    tags=["sources"],
    summary="Choose the metadata key a source's volume is judged by",
    description="The key the default volume rules, the grid's Count and the source page's chart "
    "use; empty hands the choice back to confops. Audited.",
    url_name="source-volume-metric",
)
def choose_volume_metric(
    request: HttpRequest, slug: str, body: VolumeMetricChange
) -> dict[str, Any]:
    user, label = actor(request)
    with transaction.atomic():
        source = get_or_404(Source.objects.select_for_update(of=("self",)), "source", slug=slug)
        try:
            operations.choose_volume_metric(source, body.volume_metric, user, timezone.now(), label)
        except DjangoValidationError as exc:
            raise invalid(exc) from exc
    return read_source(request, slug)
