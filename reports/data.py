"""What the daily report is built from: plain snapshots of one day's stored data.

``gather(day, tz)`` reads the database for the window ``[day start, next day start)`` in the
report's time zone, in a fixed number of queries whatever the number of sources (about a dozen:
one per table, never one per source), and returns frozen dataclasses. The builder
(``reports.builder``) turns them into the report without touching the database or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max, Min, Q

from alerts.choices import AlertEventKind
from alerts.models import Alert, AlertRule, Silence
from alerts.rules.base import kinds_answering
from confops.accounts.models import AuditEntry
from monitoring.choices import SUCCESS_OUTCOMES, RunAssetOutcome, RunStatus
from monitoring.models import CheckResult, RunAsset, Source
from reports.quality import QualityFigures, rule_quality

# The trailing average of a source's count is taken over this many days before the report's.
BASELINE_DAYS = 7
MAX_CHANGES = 100


@dataclass(frozen=True)
class SourceFacts:
    """A source the report covers, with what was known of it when the day began."""

    id: int
    key: str
    slug: str
    deployment: str
    group: str
    first_seen_at: datetime
    gone_since: datetime | None
    paused: bool
    # Seconds without a success after which the stale rules call it stale; None: no rule does.
    fresh_limit_s: float | None
    last_success_before: datetime | None
    last_run_before: datetime | None


@dataclass(frozen=True)
class RunFacts:
    """One finished run of one source in the window: a success or a final failure."""

    source_id: int
    run_pk: int
    run_id: str
    ok: bool
    ended_at: datetime
    duration_s: float | None
    error: str
    count: float | None
    url: str
    partition: str = ""  # Dagster's partition key of the run; "" when unpartitioned


@dataclass(frozen=True)
class CountSample:
    """A successful run's count before the window, for the trailing average."""

    source_id: int
    at: datetime
    value: float


@dataclass(frozen=True)
class AlertFacts:
    """An alert that was open at some moment of the window."""

    id: int
    rule_id: int
    rule: str
    kind: str
    source_id: int | None
    subject: str
    severity: str
    summary: str
    fired_at: datetime
    first_ack_at: datetime | None
    resolved_at: datetime | None
    resolved_how: str


@dataclass(frozen=True)
class SilenceFacts:
    id: int
    comment: str
    starts_at: datetime
    ends_at: datetime | None
    author: str
    matchers: str


@dataclass(frozen=True)
class CheckFacts:
    source_id: int
    check_name: str
    passed: bool
    severity: str
    evaluated_at: datetime
    description: str


@dataclass(frozen=True)
class ChangeFacts:
    """An audited change (rules, channels, silences, runbooks) with who made it."""

    at: datetime
    actor: str
    action: str
    object_type: str
    object_repr: str
    fields: list[str]


@dataclass(frozen=True)
class Suggestion:
    """A threshold the backtest says would have fired less without missing an incident."""

    rule: str
    kind: str
    parameter: str
    current: float
    suggested: float
    days: int
    fired_now: int
    fired_suggested: int
    incidents: int


@dataclass(frozen=True)
class ReportData:
    day: date
    time_zone: str
    start: datetime
    end: datetime
    sources: list[SourceFacts]
    runs: list[RunFacts]
    baseline: list[CountSample]
    alerts: list[AlertFacts]
    silences: list[SilenceFacts]
    checks: list[CheckFacts]
    changes: list[ChangeFacts]
    suggestions: list[Suggestion] = field(default_factory=list)
    suggestions_note: str = ""
    # The incidents opened in the window, per rule (reports.quality); None: not gathered.
    rule_quality: QualityFigures | None = None

    def covers(self, moment: datetime | None) -> bool:
        """Whether ``moment`` falls in the report's window ``[start, end)``."""
        return moment is not None and self.start <= moment < self.end


def window(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """Midnight to midnight in ``tz_name`` (23 or 25 hours on a DST change)."""
    tz = ZoneInfo(tz_name)
    return (
        datetime.combine(day, time(0), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
    )


def gather(day: date, tz_name: str) -> ReportData:
    start, end = window(day, tz_name)
    sources = covered_sources(start, end)
    ids = [s.pk for s in sources]
    return ReportData(
        day=day,
        time_zone=tz_name,
        start=start,
        end=end,
        sources=source_facts(sources, start),
        runs=run_facts(ids, start, end),
        baseline=count_samples(ids, start - timedelta(days=BASELINE_DAYS), start),
        alerts=alert_facts(start, end),
        silences=silence_facts(end),
        checks=check_facts(ids, start, end),
        changes=change_facts(start, end),
        rule_quality=rule_quality(start, end),
    )


def covered_sources(start: datetime, end: datetime) -> list[Source]:
    """Sources that existed during the window (asset jobs left out, as on the status page)."""
    return list(
        Source.objects.filter(is_asset_job=False, first_seen_at__lt=end)
        .filter(Q(gone_since__isnull=True) | Q(gone_since__gte=start))
        .select_related("deployment")
        .order_by("key", "pk")
    )


def source_facts(sources: list[Source], start: datetime) -> list[SourceFacts]:
    ids = [s.pk for s in sources]
    last_success = latest_before(ids, start, success_only=True)
    last_run = latest_before(ids, start, success_only=False)
    limits = fresh_limits(sources)
    return [
        SourceFacts(
            id=s.pk,
            key=s.key,
            slug=s.slug,
            deployment=s.deployment.name if s.deployment else "pushed",
            group=s.group_name,
            first_seen_at=s.first_seen_at,
            gone_since=s.gone_since,
            paused=s.paused,
            fresh_limit_s=limits.get(s.pk),
            last_success_before=last_success.get(s.pk),
            last_run_before=last_run.get(s.pk),
        )
        for s in sources
    ]


def latest_before(ids: list[int], start: datetime, success_only: bool) -> dict[int, datetime]:
    rows = RunAsset.objects.filter(source_id__in=ids, run__ended_at__lt=start)
    if success_only:
        rows = rows.filter(outcome__in=SUCCESS_OUTCOMES)
    return {
        row["source_id"]: row["latest"]
        for row in rows.values("source_id").annotate(latest=Max("run__ended_at"))
    }


def fresh_limits(sources: Iterable[Source]) -> dict[int, float]:
    """The strictest enabled freshness rule covering each source, overrides applied (seconds):
    the limit is the kind's (``RuleKind.freshness_limit``)."""
    rules = list(
        AlertRule.objects.filter(
            kind__in=kinds_answering("freshness_limit"), enabled=True
        ).prefetch_related("scope_sources", "overrides")
    )
    limits: dict[int, float] = {}
    for rule in rules:
        overrides = {o.source_id: o for o in rule.overrides.all()}
        for source in sources:
            override = overrides.get(source.pk)
            if (override and not override.enabled) or not rule.covers_source(source):
                continue
            params = rule.params(override.parameters if override else None)
            freshness = rule.kind_impl.freshness_limit(params)
            if freshness is None:
                continue
            limit = freshness.total_seconds()
            limits[source.pk] = min(limit, limits.get(source.pk, limit))
    return limits


def run_facts(ids: list[int], start: datetime, end: datetime) -> list[RunFacts]:
    """Successes, and failures Dagster will not retry: runs with a verdict on the source."""
    decided = Q(outcome__in=SUCCESS_OUTCOMES) | Q(
        outcome=RunAssetOutcome.FAILED, run__status=RunStatus.FAILURE, run__will_retry=False
    )
    links = (
        RunAsset.objects.filter(decided, source_id__in=ids, run__ended_at__gte=start)
        .filter(run__ended_at__lt=end)
        .select_related("run__deployment")
        .order_by("run__ended_at", "pk")
    )
    facts = []
    for link in links:
        run = link.run
        assert run.ended_at is not None
        facts.append(
            RunFacts(
                source_id=link.source_id,
                run_pk=run.pk,
                run_id=run.run_id,
                ok=link.outcome in SUCCESS_OUTCOMES,
                ended_at=run.ended_at,
                duration_s=run.duration_s,
                error=link.error,
                count=metric(link.metrics, "count"),
                url=run.dagster_url,
                partition=run.partition,
            )
        )
    return facts


def metric(metrics: object, name: str) -> float | None:
    value = metrics.get(name) if isinstance(metrics, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def count_samples(ids: list[int], start: datetime, end: datetime) -> list[CountSample]:
    rows = RunAsset.objects.filter(
        source_id__in=ids,
        outcome__in=SUCCESS_OUTCOMES,
        run__ended_at__gte=start,
        run__ended_at__lt=end,
    ).values_list("source_id", "run__ended_at", "metrics")
    samples = []
    for source_id, at, metrics in rows:
        value = metric(metrics, "count")
        if value is not None and at is not None:
            samples.append(CountSample(source_id, at, value))
    return samples


def alert_facts(start: datetime, end: datetime) -> list[AlertFacts]:
    """Alerts fired before the window ends and not resolved before it starts."""
    alerts = (
        Alert.objects.filter(fired_at__isnull=False, fired_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
        .select_related("rule", "source", "deployment")
        .annotate(first_ack=Min("events__at", filter=Q(events__kind=AlertEventKind.ACKNOWLEDGED)))
        .order_by("fired_at", "pk")
    )
    return [
        AlertFacts(
            id=a.pk,
            rule_id=a.rule_id,
            rule=a.rule.name,
            kind=a.rule.kind,
            source_id=a.source_id,
            subject=a.subject,
            severity=a.severity,
            summary=a.summary,
            fired_at=a.fired_at,
            first_ack_at=a.first_ack or a.acknowledged_at,
            resolved_at=a.resolved_at,
            resolved_how=a.resolved_how,
        )
        for a in alerts
        if a.fired_at is not None
    ]


def silence_facts(end: datetime) -> list[SilenceFacts]:
    """One-off silences in force when the window ends (recurring windows are planned)."""
    silences = (
        Silence.objects.filter(recurrence_cron="", starts_at__lt=end)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=end))
        .filter(Q(expired_at__isnull=True) | Q(expired_at__gt=end))
        .select_related("created_by", "rule", "source", "deployment")
    )
    return [
        SilenceFacts(
            id=s.pk,
            comment=s.comment,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            author=s.created_by.get_username() if s.created_by else "",
            matchers=matcher_text(s),
        )
        for s in silences
    ]


def matcher_text(silence: Silence) -> str:
    parts = [
        f"rule {silence.rule}" if silence.rule else "",
        f"source {silence.source}" if silence.source else "",
        f"deployment {silence.deployment}" if silence.deployment else "",
        f"group {silence.group}" if silence.group else "",
        f"tag {silence.tag_key}={silence.tag_value}" if silence.tag_key else "",
        f"severity {silence.severity}" if silence.severity else "",
    ]
    return ", ".join(part for part in parts if part)


def check_facts(ids: list[int], start: datetime, end: datetime) -> list[CheckFacts]:
    rows = CheckResult.objects.filter(
        source_id__in=ids, evaluated_at__gte=start, evaluated_at__lt=end
    ).order_by("evaluated_at", "pk")
    return [
        CheckFacts(
            source_id=c.source_id,
            check_name=c.check_name,
            passed=c.passed,
            severity=c.severity,
            evaluated_at=c.evaluated_at,
            description=c.description,
        )
        for c in rows
    ]


def change_facts(start: datetime, end: datetime) -> list[ChangeFacts]:
    entries = (
        AuditEntry.objects.filter(at__gte=start, at__lt=end)
        .select_related("actor")
        .order_by("at", "pk")[:MAX_CHANGES]
    )
    return [
        ChangeFacts(
            at=e.at,
            actor=(e.actor.get_username() if e.actor else "") or e.actor_label or "system",
            action=e.action,
            object_type=e.object_type,
            object_repr=e.object_repr,
            fields=sorted(str(k) for k in (e.changes or {})),
        )
        for e in entries
    ]
