"""What a source's page shows: health, the metric's trend, runs, checks, alerts, rules, runbook."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Case, F, IntegerField, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.safestring import SafeString

from alerts.choices import OPEN_STATES, AlertState, RuleTarget
from alerts.engine.history import load_sources
from alerts.engine.recovery import closes_at
from alerts.models import Alert, AlertRule, RuleOverride, Runbook
from alerts.rules._volume import AUTO
from alerts.rules.base import DropBand, ParamsError, all_kinds, kinds_answering
from alerts.rules.stale import latest_success
from confops.common.formatting import clock, number, span
from monitoring.charts import line_chart
from monitoring.choices import SUCCESS_OUTCOMES, InstigatorKind, RunAssetOutcome, RunStatus
from monitoring.links import dagster_source_url
from monitoring.models import CheckResult, Instigator, RunAsset, Source
from monitoring.status import Health, OpenAlerts, deployment_problem, source_health
from monitoring.timeline import STATE_LABEL, TimelineRun, bar_state
from monitoring.trend import BoundRule, DropRule, Sample, bound_levels, trend_series
from monitoring.volume import source_volume_key

RUNS_PER_PAGE = 25
TREND_DAYS = 30
CHECK_HISTORY = 10
ALERT_HISTORY = 50
VISIBLE_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)
RUN_ICONS = {
    "ok": "i-healthy",
    "failed": "i-critical",
    "retrying": "i-warning",
    "running": "i-unknown",
    "skipped": "i-paused",
    "canceled": "i-paused",
}


@dataclass(frozen=True)
class RunLine:
    """One row of the runs table."""

    link: RunAsset
    state: str
    value: Any
    error: str
    url: str

    @property
    def label(self) -> str:
        return STATE_LABEL[self.state]

    @property
    def icon(self) -> str:
        return RUN_ICONS[self.state]


@dataclass(frozen=True)
class RuleLine:
    """A rule whose scope covers the source, with what applies here."""

    rule: AlertRule
    override: RuleOverride | None
    parameters: dict[str, Any]
    active: bool


def build(source: Source, metric: str, now: datetime) -> dict[str, Any]:
    rules = covering_rules(source)
    alerts = list(alert_history(source))
    return {
        "source": source,
        "health": health(source, alerts, now),
        "last_failure": last_failure(source),
        "dagster_url": dagster_url(source),
        "upstream": list(source.upstream.filter(is_gone=False).order_by("key")),
        "downstream": list(source.downstream.filter(is_gone=False).order_by("key")),
        "schedules": instigators(source),
        "cadence": cadence_line(source, now),
        "trend": trend(source, metric, rules, now),
        "metric": metric,
        "volume": volume_choice(source),
        "checks": check_history(source),
        "alerts": alerts,
        "alert_total": Alert.objects.filter(source=source).count(),
        "rules": rules,
        "orphan_overrides": orphan_overrides(source, rules),
        "runbook": Runbook.objects.filter(slug=source.runbook_slug).first()
        if source.runbook_slug
        else None,
        "owners": owner_links(source),
        "tags": [(f"{k}={v}", urlencode({"tag": f"{k}={v}"})) for k, v in source.tags.items()],
        "group_query": urlencode({"group": source.group_name}),
    }


@dataclass(frozen=True)
class CadenceLine:
    """What the page says of the source's rhythm: "expected every 2 h; next success due by
    14:10", and where that came from ("learned from 14 successes")."""

    text: str
    origin: str


def cadence_line(source: Source, now: datetime) -> CadenceLine | None:
    """The source's cadence as the stale rule sees it (the same history); None when unknown."""
    history = load_sources([source]).get(source.pk)
    if history is None:
        return None
    found = history.cadence(latest_success(history) or history.first_seen_at)
    if found.interval is None or found.due_by is None:
        return None
    due = clock(found.due_by)
    if abs(found.due_by - now) >= timedelta(hours=20):  # not today: say which day
        due = f"{timezone.localtime(found.due_by):%a %d %b} {due}"
    return CadenceLine(
        f"expected every {span(found.interval)}; next success due by {due}", found.origin
    )


def owner_links(source: Source) -> list[tuple[str, str]]:
    """Each owner with the status page query that filters by it."""
    owners = dict.fromkeys(o for o in [source.owner, *source.dagster_owners] if o)
    return [(o, urlencode({"owner": o})) for o in owners]


def health(source: Source, alerts: list[Alert], now: datetime) -> Health:
    """The same judgement as the status page's cell (the history holds every open alert)."""
    d = source.deployment
    problem = (
        deployment_problem(
            d.enabled, d.last_success_at, d.consecutive_failures, d.failing_since, now
        )
        if d
        else ""
    )
    visible = [a for a in alerts if a.state in VISIBLE_STATES]
    counts = {s: sum(a.severity == s for a in visible) for s in ("critical", "warning", "info")}
    worst = OpenAlerts(counts["critical"], counts["warning"], counts["info"]).worst
    example = next((a.rule.name for a in visible if a.severity == worst), "")
    closing = [closes_at(a) for a in visible]
    recovering = bool(visible) and None not in closing
    alerts_summary = OpenAlerts(
        counts["critical"],
        counts["warning"],
        counts["info"],
        0,
        example,
        closes_at=max(c for c in closing if c) if recovering else None,
    )
    return source_health(
        paused=source.paused,
        deployment_problem=problem,
        alerts=alerts_summary,
        last_run_at=source.last_run_at,
        last_success_at=source.last_success_at,
        now=now,
    )


def dagster_url(source: Source) -> str:
    d = source.deployment
    if d is None:
        return ""
    return dagster_source_url(
        d.ui_url, source.kind, source.key, source.repository, source.code_location
    )


def last_failure(source: Source) -> RunAsset | None:
    return (
        RunAsset.objects.filter(source=source, outcome=RunAssetOutcome.FAILED)
        .select_related("run")
        .order_by(F("run_created_at").desc(nulls_last=True), "-pk")
        .first()
    )


def instigators(source: Source) -> list[Instigator]:
    """The Dagster schedules and sensors that target the source."""
    wanted = {(InstigatorKind.SCHEDULE.value, n) for n in source.schedule_names or []}
    wanted |= {(InstigatorKind.SENSOR.value, n) for n in source.sensor_names or []}
    if source.deployment_id is None or not wanted:
        return []
    found = Instigator.objects.filter(
        deployment_id=source.deployment_id, is_gone=False, name__in={n for _, n in wanted}
    )
    return [i for i in found if (i.kind, i.name) in wanted]


@dataclass(frozen=True)
class RunsPage:
    """A page of the runs table: the paginator's page and its rows."""

    page: Page[RunAsset]
    lines: list[RunLine]

    @property
    def partitioned(self) -> bool:
        """A partition column only for a source whose runs on this page have partitions."""
        return any(line.link.run.partition for line in self.lines)


def runs_page(source: Source, page: str | None, metric: str) -> RunsPage:
    """Newest first, ``RUNS_PER_PAGE`` a page; an invalid page number gives the nearest page."""
    links = (
        RunAsset.objects.filter(source=source)
        .select_related("run", "run__deployment")
        .order_by(F("run_created_at").desc(nulls_last=True), "-pk")
    )
    paginated = Paginator(links, RUNS_PER_PAGE).get_page(page)
    return RunsPage(paginated, [run_line(link, metric) for link in paginated.object_list])


def run_line(link: RunAsset, metric: str) -> RunLine:
    state = bar_state_of(link)
    run = link.run
    error = link.error if state in ("failed", "retrying") else ""
    return RunLine(link, state, (link.metrics or {}).get(metric), error, run.dagster_url)


def bar_state_of(link: RunAsset) -> str:
    run = link.run
    return bar_state(
        TimelineRun(
            key="",
            status=run.status,
            outcome=link.outcome,
            started=None,
            ended=None,
            duration_s=run.duration_s,
            will_retry=run.will_retry,
            error=run.error_message,
            url="",
        )
    )


@dataclass(frozen=True)
class CheckHistory:
    """One asset check on the source page: declared by Dagster (blocking or not) and/or
    evaluated, with its latest evaluation and the ones before it (none before it first runs)."""

    name: str
    latest: CheckResult | None
    history: list[CheckResult]  # oldest first, the latest last
    blocking: bool = False
    declared_description: str = ""

    @property
    def severity(self) -> str:
        """The latest evaluation's severity: Dagster reports it per evaluation, not per check."""
        return self.latest.severity if self.latest else ""

    @property
    def description(self) -> str:
        return (self.latest.description if self.latest else "") or self.declared_description


def check_history(source: Source) -> list[CheckHistory]:
    """Every declared or evaluated check: its latest evaluation with up to ``CHECK_HISTORY``
    before it, and whether Dagster declares it blocking."""
    ranked = (
        CheckResult.objects.filter(source=source)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("check_name")],
                order_by=[F("evaluated_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=CHECK_HISTORY)
        .order_by("check_name", "-evaluated_at")
    )
    grouped: dict[str, list[CheckResult]] = defaultdict(list)
    for result in ranked:
        grouped[result.check_name].append(result)
    declared = {check["name"]: check for check in source.asset_checks or []}
    return [
        CheckHistory(
            name,
            grouped[name][0] if grouped.get(name) else None,
            grouped.get(name, [])[::-1],
            blocking=bool(declared.get(name, {}).get("blocking")),
            declared_description=declared.get(name, {}).get("description") or "",
        )
        for name in sorted(set(grouped) | set(declared))
    ]


def alert_history(source: Source) -> Any:
    """The source's alerts, open ones first, then the most recent."""
    return (
        Alert.objects.filter(source=source)
        .select_related("rule", "acknowledged_by")
        .annotate(
            closed=Case(
                When(state__in=OPEN_STATES, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("closed", "-opened_at")[:ALERT_HISTORY]
    )


def covering_rules(source: Source) -> list[RuleLine]:
    """Rules about sources whose scope covers this one, as the engine decides it."""
    overrides = {
        o.rule_id: o for o in RuleOverride.objects.filter(source=source).select_related("rule")
    }
    lines = []
    for rule in AlertRule.objects.prefetch_related("scope_sources").select_related("runbook"):
        if rule.kind not in all_kinds() or rule.target != RuleTarget.SOURCE:
            continue
        if source.is_asset_job and not rule.include_asset_jobs:
            continue
        if not rule.covers_source(source):
            continue
        override = overrides.get(rule.pk)
        parameters = {**rule.parameters, **(override.parameters if override else {})}
        active = rule.enabled and not source.paused and (override is None or override.enabled)
        lines.append(RuleLine(rule, override, parameters, active))
    return lines


def orphan_overrides(source: Source, rules: list[RuleLine]) -> list[RuleOverride]:
    """Overrides for rules that no longer cover the source (scope changed since)."""
    covered = {line.rule.pk for line in rules}
    return [
        o
        for o in RuleOverride.objects.filter(source=source).select_related("rule")
        if o.rule_id not in covered
    ]


@dataclass(frozen=True)
class Trend:
    svg: SafeString
    legend: list[tuple[str, str]]
    metrics: list[str]
    points: int


def trend(source: Source, metric: str, rules: list[RuleLine], now: datetime) -> Trend:
    """The metric over the last 30 days of successful runs, with the volume rules' lines."""
    start = now - timedelta(days=TREND_DAYS)
    drops, bounds = volume_rules(rules, metric, chosen_key(source))
    lookback = max([d.window_runs for d in drops] or [7])
    samples, keys = trend_samples(source, metric, start, lookback)
    keys |= {k for k, v in (source.last_metrics or {}).items() if isinstance(v, int | float)}
    series = trend_series(samples, start, metric, drops)
    levels = bound_levels(bounds)
    tz = timezone.get_current_timezone()
    shown = [s for s in samples if s.at >= start]
    svg = line_chart(
        series,
        levels,
        start=start.astimezone(tz),
        end=now.astimezone(tz),
        title=f"{metric} of {source.key} over {TREND_DAYS} days",
        description=describe(metric, shown),
        element_id="trend",
    )
    legend = [(s.label, s.css) for s in series] + [(lv.label, lv.css) for lv in levels]
    return Trend(svg, legend, sorted(keys | {metric}), len(shown))


def describe(metric: str, samples: list[Sample]) -> str:
    if not samples:
        return f"No successful run reported {metric} in the last {TREND_DAYS} days."
    values = [s.value for s in samples]
    return (
        f"{len(samples)} successful runs; latest {number(values[-1])}, "
        f"lowest {number(min(values))}, highest {number(max(values))}."
    )


def trend_samples(
    source: Source, metric: str, start: datetime, lookback: int
) -> tuple[list[Sample], set[str]]:
    """Successful runs since ``start`` plus ``lookback`` before it (for the first averages),
    oldest first, and every numeric metric key those runs reported."""
    successes = RunAsset.objects.filter(
        source=source, outcome__in=SUCCESS_OUTCOMES, run__status=RunStatus.SUCCESS
    ).values_list("run_created_at", "run__ended_at", "metrics")
    recent = list(successes.filter(run_created_at__gte=start).order_by("run_created_at", "pk"))
    earlier = list(
        successes.filter(run_created_at__lt=start).order_by("-run_created_at", "-pk")[:lookback]
    )
    samples, keys = [], set()
    for created, ended, metrics in [*reversed(earlier), *recent]:
        metrics = metrics or {}
        keys |= {k for k, v in metrics.items() if isinstance(v, int | float)}
        value = metrics.get(metric)
        at = ended or created
        if isinstance(value, int | float) and math.isfinite(value) and at is not None:
            samples.append(Sample(at, float(value)))
    return samples, keys


@dataclass(frozen=True)
class VolumeChoice:
    """What the source page offers to choose the volume key from: the key in use, whether the
    operator chose it, and every numeric key the source reported (name, last value, reports)."""

    key: str | None
    value: Any
    chosen: str
    options: list[tuple[str, Any, int]]


def volume_choice(source: Source) -> VolumeChoice:
    known = source.metric_keys or {}
    options = [(name, e.get("last"), int(e.get("reports", 0))) for name, e in known.items()]
    if source.volume_metric and source.volume_metric not in known:
        options.append((source.volume_metric, None, 0))  # chosen before it was reported
    key = chosen_key(source)
    value = (source.last_metrics or {}).get(key or "", known.get(key or "", {}).get("last"))
    return VolumeChoice(key, value, source.volume_metric, sorted(options))


def chosen_key(source: Source) -> str | None:
    """The key the source's volume is judged by (what rules on ``auto`` read)."""
    return source_volume_key(
        source.volume_metric, source.metric_keys or {}, source.last_metrics or {}
    )


def volume_rules(
    rules: list[RuleLine], metric: str, auto_key: str | None = None
) -> tuple[list[DropRule], list[BoundRule]]:
    """The bands of active rules on this metric, with their effective parameters: each kind says
    what it draws (``RuleKind.chart_band``). A rule on ``auto`` draws on ``auto_key``, the
    source's chosen volume key, as it judges."""
    drops, bounds = [], []
    drawing = kinds_answering("chart_band")
    for line in rules:
        if not line.active or line.rule.kind not in drawing:
            continue
        try:
            params = line.rule.params(line.override.parameters if line.override else None)
        except ParamsError:
            continue  # shown in the rules table; an invalid rule judges nothing either
        band = line.rule.kind_impl.chart_band(params)
        if band is None or (auto_key if band.metric == AUTO else band.metric) != metric:
            continue
        if isinstance(band, DropBand):
            drops.append(DropRule(line.rule.name, band.percent, band.window_runs, band.min_history))
        else:
            bounds.append(BoundRule(line.rule.name, band.minimum, band.maximum))
    return drops, bounds
