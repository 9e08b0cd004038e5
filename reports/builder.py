"""The daily report's figures: a pure function of the day's data (``reports.data``) and ``now``.

``build_report(data, now)`` reads no database and no clock. Its output is plain dataclasses of
strings and numbers, stored as the report's ``summary`` JSON and rendered by templates, so the
portal page, the email, the text part, Slack and the API all say the same thing.

Definitions (docs/reports.md):

- a *run* of a source is a success or a final failure (Dagster will not retry it) that ended in
  the window; the overall figures count distinct runs, a run failing if any of its sources did;
- *fresh all day*: the source never went longer than its stale rules allow without a success at
  any moment of the window (the strictest enabled stale rule covering it, overrides applied;
  a source no stale rule covers is not judged); SLA = fresh all day / judged sources;
- a source's *state* is the status page's (``monitoring.status.source_health``) at the end of
  the window, from the alerts open then;
- *count change*: the last successful run's ``count`` against the mean of the counts of the
  successful runs in the 7 days before;
- *flapping*: a source whose runs switched between success and failure at least 3 times, or
  that one rule fired on at least 3 times, in the day.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence, Sized
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, TypeVar

from confops.common.formatting import span
from monitoring.choices import HealthState
from monitoring.status import PRESENTATION, OpenAlerts, source_health
from reports.data import (
    AlertFacts,
    CheckFacts,
    CountSample,
    ReportData,
    RunFacts,
    SourceFacts,
)
from reports.quality import QualityFigures, RuleQuality

SourceItem = TypeVar("SourceItem", RunFacts, CountSample)
FLAP_CHANGES = 3
FLAP_FIRINGS = 3
TOP = 5
MAX_LISTED = 10
ERROR_CHARS = 300
STATE_ORDER = [
    HealthState.CRITICAL,
    HealthState.WARNING,
    HealthState.UNKNOWN,
    HealthState.PAUSED,
    HealthState.HEALTHY,
]
# Email-safe colours (hex, no CSS variables) for the states and the bars.
STATE_COLOURS = {
    HealthState.HEALTHY: "#2eb67d",
    HealthState.WARNING: "#e8912d",
    HealthState.CRITICAL: "#d40e0d",
    HealthState.UNKNOWN: "#8d8d8d",
    HealthState.PAUSED: "#b5b5b5",
}


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int
    percent: float
    colour: str


@dataclass(frozen=True)
class Overall:
    sources: int
    by_state: list[StateCount]
    judged: int
    fresh_all_day: int
    sla_percent: float | None
    runs: int
    runs_succeeded: int
    runs_failed: int
    success_rate: float | None


@dataclass(frozen=True)
class HourBar:
    label: str
    succeeded: int
    failed: int
    height_ok: int  # pixels of a 60 px column
    height_failed: int


@dataclass(frozen=True)
class Failure:
    at: str
    time: str
    run_id: str
    error: str
    url: str
    partition: str = ""  # the failed run's partition key, shown beside its time


@dataclass(frozen=True)
class Breach:
    start: str
    end: str
    label: str
    minutes: int


@dataclass(frozen=True)
class SourceLine:
    id: int
    key: str
    slug: str
    deployment: str
    group: str
    state: str
    state_label: str
    state_reason: str
    colour: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    ok_width: int  # percent of the bar
    failed_width: int
    failures: list[Failure]
    duration_median_s: float | None
    duration_max_s: float | None
    duration_median: str
    duration_max: str
    count: float | None
    count_average: float | None
    count_change_pct: float | None
    fresh_all_day: bool | None
    breaches: list[Breach]
    breach_minutes: int

    @property
    def needs_attention(self) -> bool:
        return needs_attention(self.failed, self.breaches, self.state)


SEVERE_STATES = (HealthState.CRITICAL, HealthState.WARNING)


def needs_attention(failed: int, breaches: Sized, state: str) -> bool:
    """A source the report lists first: failed runs, stale spells, or a critical or warning
    state (also read from the stored summary by ``reports.render``)."""
    return bool(failed or breaches or state in SEVERE_STATES)


@dataclass(frozen=True)
class AlertLine:
    id: int
    rule: str
    subject: str
    severity: str
    summary: str
    fired_at: str
    time: str
    lasted: str


@dataclass(frozen=True)
class AlertSummary:
    fired: int
    acknowledged: int
    resolved: int
    open: int
    median_ack_s: float | None
    median_resolve_s: float | None
    median_ack: str
    median_resolve: str
    open_critical: list[AlertLine]
    open_critical_count: int


@dataclass(frozen=True)
class Tally:
    name: str
    count: int
    width: int  # percent of the largest


@dataclass(frozen=True)
class Flap:
    key: str
    reason: str


@dataclass(frozen=True)
class SilenceLine:
    id: int
    comment: str
    author: str
    matchers: str
    since: str
    active_for: str
    ends: str


@dataclass(frozen=True)
class RuleQualityLine:
    """One rule's incidents of the day (``reports.quality``), as the report shows them."""

    rule: str
    incidents: int
    messages_per_incident: float
    median_ack_s: float | None
    median_resolve_s: float | None
    median_ack: str
    median_resolve: str
    flapping: int
    flapping_percent: float
    unacknowledged: int


@dataclass(frozen=True)
class Quality:
    noisy_rules: list[Tally]
    noisy_sources: list[Tally]
    unacknowledged_resolved: list[AlertLine]
    unacknowledged_resolved_count: int
    flapping: list[Flap]
    long_silences: list[SilenceLine]
    suggestions: list[dict[str, Any]]
    suggestions_note: str
    # Incidents opened that day, per rule, worst (most messages per incident) first; and all
    # rules together (each incident once). Empty and None on a day without incidents.
    rules: list[RuleQualityLine] = field(default_factory=list)
    incidents: RuleQualityLine | None = None


@dataclass(frozen=True)
class CheckTally:
    """One asset check in the daily report: how often it ran and failed that day."""

    key: str
    check: str
    severity: str
    evaluations: int
    failed: int
    last_passed: bool
    description: str


@dataclass(frozen=True)
class Checks:
    evaluations: int
    passed: int
    failed: int
    lines: list[CheckTally]


@dataclass(frozen=True)
class ChangeLine:
    time: str
    actor: str
    action: str
    object_type: str
    object_repr: str
    fields: str


@dataclass(frozen=True)
class Changes:
    new_sources: list[str]
    gone_sources: list[str]
    audit: list[ChangeLine]


@dataclass(frozen=True)
class ReportContext:
    day: str
    time_zone: str
    window_start: str
    window_end: str
    generated_at: str
    headline: str
    overall: Overall
    hours: list[HourBar]
    sources: list[SourceLine]
    worst: list[SourceLine]
    alerts: AlertSummary
    quality: Quality
    checks: Checks
    changes: Changes
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_report(data: ReportData, now: datetime) -> ReportContext:
    runs_by_source = group_by_source(data.runs)
    baseline = group_by_source(data.baseline)
    open_at_end = open_alerts_by_source(data.alerts, data.end)
    lines = [
        source_line(s, runs_by_source.get(s.id, []), baseline.get(s.id, []), open_at_end, data)
        for s in data.sources
    ]
    lines.sort(
        key=lambda line: (
            STATE_ORDER.index(HealthState(line.state)),
            -line.failed,
            -line.breach_minutes,
            line.key,
        )
    )
    overall = overall_health(lines, data.runs)
    alerts = alert_summary(data.alerts, data)
    return ReportContext(
        day=data.day.isoformat(),
        time_zone=data.time_zone,
        window_start=data.start.isoformat(),
        window_end=data.end.isoformat(),
        generated_at=now.isoformat(),
        headline=headline(overall, alerts),
        overall=overall,
        hours=hour_bars(data.runs, data.start, data.end),
        sources=lines,
        worst=[line for line in lines if line.needs_attention][:TOP],
        alerts=alerts,
        quality=quality(data, lines),
        checks=checks(data.checks, {s.id: s.key for s in data.sources}),
        changes=changes(data),
    )


def group_by_source(items: Sequence[SourceItem]) -> dict[int, list[SourceItem]]:
    grouped: dict[int, list[SourceItem]] = defaultdict(list)
    for item in items:
        grouped[item.source_id].append(item)
    return grouped


def percent(part: int | float, whole: int | float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC: subtracting two datetimes that share a ZoneInfo counts wall-clock time,
    so a 23 or 25 hour DST day would come out as 24 hours."""
    return moment.astimezone(UTC)


def local_time(moment: datetime, data: ReportData) -> str:
    return moment.astimezone(data.start.tzinfo).strftime("%H:%M")


def open_alerts_by_source(alerts: list[AlertFacts], end: datetime) -> dict[int, OpenAlerts]:
    """The alerts firing or acknowledged when the window ends, summed per source."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    examples: dict[int, dict[str, str]] = defaultdict(dict)
    for alert in alerts:
        if alert.source_id is None or not is_open_at(alert, end):
            continue
        counts[alert.source_id][alert.severity] += 1
        examples[alert.source_id].setdefault(alert.severity, alert.rule)
    opened: dict[int, OpenAlerts] = {}
    for source_id, c in counts.items():
        summed = OpenAlerts(critical=c["critical"], warning=c["warning"], info=c["info"])
        # The example is a rule of the worst severity, the one ``source_health`` names.
        worst = summed.worst
        opened[source_id] = replace(summed, example=examples[source_id][worst] if worst else "")
    return opened


def is_open_at(alert: AlertFacts, moment: datetime) -> bool:
    return alert.fired_at < moment and (alert.resolved_at is None or alert.resolved_at >= moment)


def source_line(
    source: SourceFacts,
    runs: list[RunFacts],
    baseline: list[CountSample],
    open_at_end: dict[int, OpenAlerts],
    data: ReportData,
) -> SourceLine:
    succeeded = [r for r in runs if r.ok]
    failed = [r for r in runs if not r.ok]
    last_success = max([r.ended_at for r in succeeded], default=source.last_success_before)
    last_run = max([r.ended_at for r in runs], default=source.last_run_before)
    health = source_health(
        paused=source.paused,
        deployment_problem="",
        alerts=open_at_end.get(source.id, OpenAlerts()),
        last_run_at=last_run,
        last_success_at=last_success,
        now=data.end,
    )
    durations = [r.duration_s for r in runs if r.duration_s is not None]
    count = next((r.count for r in reversed(succeeded) if r.count is not None), None)
    average = statistics.fmean(s.value for s in baseline) if baseline else None
    breaches = stale_spans(source, [r.ended_at for r in succeeded], data.start, data.end)
    judged = source.fresh_limit_s is not None and not source.paused
    return SourceLine(
        id=source.id,
        key=source.key,
        slug=source.slug,
        deployment=source.deployment,
        group=source.group,
        state=str(health.state),
        state_label=health.label,
        state_reason=health.reason,
        colour=STATE_COLOURS[health.state],
        runs=len(runs),
        succeeded=len(succeeded),
        failed=len(failed),
        success_rate=percent(len(succeeded), len(runs)),
        ok_width=round(100 * len(succeeded) / len(runs)) if runs else 0,
        failed_width=100 - round(100 * len(succeeded) / len(runs)) if runs else 0,
        failures=[failure(r, data) for r in failed[-MAX_LISTED:]],
        duration_median_s=statistics.median(durations) if durations else None,
        duration_max_s=max(durations) if durations else None,
        duration_median=span(statistics.median(durations)) if durations else "",
        duration_max=span(max(durations)) if durations else "",
        count=count,
        count_average=round(average, 1) if average is not None else None,
        count_change_pct=percent(count - average, average)
        if count is not None and average
        else None,
        fresh_all_day=(not breaches) if judged else None,
        breaches=[breach(a, b, data) for a, b in breaches] if judged else [],
        breach_minutes=sum(int((utc(b) - utc(a)).total_seconds() // 60) for a, b in breaches)
        if judged
        else 0,
    )


def failure(run: RunFacts, data: ReportData) -> Failure:
    error = run.error.strip()
    if len(error) > ERROR_CHARS:
        error = error[: ERROR_CHARS - 1] + "…"
    return Failure(
        at=run.ended_at.isoformat(),
        time=local_time(run.ended_at, data),
        run_id=run.run_id,
        error=error,
        url=run.url,
        partition=run.partition,
    )


def stale_spans(
    source: SourceFacts, successes: list[datetime], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Moments of ``[start, end)`` when the source had gone longer than its limit without a
    success (measured from when it was first seen if it never succeeded, as the stale rule does)."""
    if source.fresh_limit_s is None:
        return []
    start, end = utc(start), utc(end)
    limit = timedelta(seconds=source.fresh_limit_s)
    until = min(end, source.gone_since) if source.gone_since else end
    reference = source.last_success_before or source.first_seen_at
    spans = []
    for moment in [*sorted(successes), until]:
        stale_from, stale_to = max(reference + limit, start), min(moment, until)
        if stale_to > stale_from:
            spans.append((stale_from, stale_to))
        reference = max(reference, moment)
    return spans


def breach(stale_from: datetime, stale_to: datetime, data: ReportData) -> Breach:
    end_label = "end of day" if stale_to >= data.end else local_time(stale_to, data)
    return Breach(
        start=stale_from.isoformat(),
        end=stale_to.isoformat(),
        label=f"{local_time(stale_from, data)}\u2013{end_label}",  # an en dash
        minutes=int((utc(stale_to) - utc(stale_from)).total_seconds() // 60),
    )


def overall_health(lines: list[SourceLine], runs: list[RunFacts]) -> Overall:
    states = Counter(line.state for line in lines)
    judged = [line for line in lines if line.fresh_all_day is not None]
    fresh = sum(1 for line in judged if line.fresh_all_day)
    verdicts: dict[int, bool] = {}
    for run in runs:
        verdicts[run.run_pk] = verdicts.get(run.run_pk, True) and run.ok
    succeeded = sum(1 for ok in verdicts.values() if ok)
    return Overall(
        sources=len(lines),
        by_state=[
            StateCount(
                state=str(state),
                label=PRESENTATION[state][2],
                count=states[state],
                percent=percent(states[state], len(lines)) or 0.0,
                colour=STATE_COLOURS[state],
            )
            for state in STATE_ORDER
            if states[state]
        ],
        judged=len(judged),
        fresh_all_day=fresh,
        sla_percent=percent(fresh, len(judged)),
        runs=len(verdicts),
        runs_succeeded=succeeded,
        runs_failed=len(verdicts) - succeeded,
        success_rate=percent(succeeded, len(verdicts)),
    )


def hour_bars(runs: list[RunFacts], start: datetime, end: datetime) -> list[HourBar]:
    """Runs per hour of the window (23 or 25 bars on a DST change), scaled to the busiest.

    Hours are counted in UTC and labelled in the window's zone, so a spring-forward day has no
    "02" bar and a fall-back day has two.
    """
    first = utc(start)
    # Rounded up: a day under way (reported up to now) shows its current hour too.
    hours = max(math.ceil((utc(end) - first).total_seconds() / 3600), 1)
    ok, failed = [0] * hours, [0] * hours
    for run in runs:
        index = min(int((utc(run.ended_at) - first).total_seconds() // 3600), hours - 1)
        (ok if run.ok else failed)[index] += 1
    peak = max((a + b for a, b in zip(ok, failed, strict=True)), default=0) or 1
    return [
        HourBar(
            label=(first + timedelta(hours=i)).astimezone(start.tzinfo).strftime("%H"),
            succeeded=ok[i],
            failed=failed[i],
            height_ok=round(60 * ok[i] / peak),
            height_failed=round(60 * failed[i] / peak),
        )
        for i in range(hours)
    ]


def alert_line(alert: AlertFacts, data: ReportData) -> AlertLine:
    end = alert.resolved_at
    return AlertLine(
        id=alert.id,
        rule=alert.rule,
        subject=alert.subject,
        severity=alert.severity,
        summary=alert.summary,
        fired_at=alert.fired_at.isoformat(),
        time=local_time(alert.fired_at, data) if alert.fired_at >= data.start else "before",
        lasted=span((end - alert.fired_at).total_seconds()) if end else "",
    )


def median_seconds(spans: list[timedelta]) -> float | None:
    return statistics.median(s.total_seconds() for s in spans) if spans else None


def alert_summary(alerts: list[AlertFacts], data: ReportData) -> AlertSummary:
    fired = [a for a in alerts if data.covers(a.fired_at)]
    acked = [a for a in alerts if data.covers(a.first_ack_at)]
    resolved = [a for a in alerts if data.covers(a.resolved_at)]
    still_open = [a for a in alerts if is_open_at(a, data.end)]
    ack_times = [a.first_ack_at - a.fired_at for a in fired if a.first_ack_at is not None]
    resolve_times = [a.resolved_at - a.fired_at for a in resolved if a.resolved_at is not None]
    critical = [a for a in still_open if a.severity == "critical"]
    median_ack, median_resolve = median_seconds(ack_times), median_seconds(resolve_times)
    return AlertSummary(
        fired=len(fired),
        acknowledged=len(acked),
        resolved=len(resolved),
        open=len(still_open),
        median_ack_s=median_ack,
        median_resolve_s=median_resolve,
        median_ack=span(median_ack) if median_ack is not None else "",
        median_resolve=span(median_resolve) if median_resolve is not None else "",
        open_critical=[alert_line(a, data) for a in critical[:MAX_LISTED]],
        open_critical_count=len(critical),
    )


def tallies(counter: Counter[str]) -> list[Tally]:
    top = counter.most_common(TOP)
    peak = top[0][1] if top else 1
    return [Tally(name, count, round(100 * count / peak)) for name, count in top]


def quality(data: ReportData, lines: list[SourceLine]) -> Quality:
    fired = [a for a in data.alerts if data.covers(a.fired_at)]
    unacked = [
        a
        for a in data.alerts
        if data.covers(a.resolved_at) and a.first_ack_at is None and a.resolved_how == "cleared"
    ]
    return Quality(
        noisy_rules=tallies(Counter(a.rule for a in fired)),
        noisy_sources=tallies(Counter(a.subject for a in fired)),
        unacknowledged_resolved=[alert_line(a, data) for a in unacked[:MAX_LISTED]],
        unacknowledged_resolved_count=len(unacked),
        flapping=flapping(data, fired),
        long_silences=long_silences(data),
        suggestions=[asdict(s) for s in data.suggestions],
        suggestions_note=data.suggestions_note,
        **rule_lines(data.rule_quality),
    )


def rule_lines(figures: QualityFigures | None) -> dict[str, Any]:
    """The per-rule lines and the overall line, when any incident opened that day."""
    if figures is None or not figures.overall.incidents:
        return {}
    return {
        "rules": [rule_line(rule) for rule in figures.rules],
        "incidents": rule_line(figures.overall),
    }


def rule_line(figures: RuleQuality) -> RuleQualityLine:
    return RuleQualityLine(
        rule=figures.rule,
        incidents=figures.incidents,
        messages_per_incident=round(figures.messages_per_incident, 1),
        median_ack_s=figures.median_ack_s,
        median_resolve_s=figures.median_resolve_s,
        median_ack=span(figures.median_ack_s) if figures.median_ack_s is not None else "",
        median_resolve=span(figures.median_resolve_s)
        if figures.median_resolve_s is not None
        else "",
        flapping=figures.flapping,
        flapping_percent=percent(figures.flapping, figures.incidents) or 0.0,
        unacknowledged=figures.unacknowledged,
    )


def flapping(data: ReportData, fired: list[AlertFacts]) -> list[Flap]:
    keys = {s.id: s.key for s in data.sources}
    reasons: dict[str, list[str]] = defaultdict(list)
    runs = group_by_source(data.runs)
    for source_id, source_runs in runs.items():
        changes = sum(1 for a, b in pairwise(source_runs) if a.ok != b.ok)
        if changes >= FLAP_CHANGES:
            reasons[keys[source_id]].append(
                f"runs switched between success and failure {changes} times"
            )
    firings = Counter((a.subject, a.rule) for a in fired)
    for (subject, rule), count in sorted(firings.items()):
        if count >= FLAP_FIRINGS:
            reasons[subject].append(f"{rule} fired {count} times")
    return [Flap(key, "; ".join(why)) for key, why in sorted(reasons.items())]


LONG_SILENCE = timedelta(hours=24)


def long_silences(data: ReportData) -> list[SilenceLine]:
    """One-off silences in force at the end of the day that began over 24 h before."""
    lines = []
    for silence in sorted(data.silences, key=lambda s: s.starts_at):
        age = utc(data.end) - utc(silence.starts_at)
        if age < LONG_SILENCE:
            continue
        lines.append(
            SilenceLine(
                id=silence.id,
                comment=silence.comment,
                author=silence.author,
                matchers=silence.matchers,
                since=silence.starts_at.astimezone(data.start.tzinfo).strftime("%Y-%m-%d %H:%M"),
                active_for=span(age.total_seconds()),
                ends=silence.ends_at.astimezone(data.start.tzinfo).strftime("%Y-%m-%d %H:%M")
                if silence.ends_at
                else "never",
            )
        )
    return lines


def checks(facts: list[CheckFacts], keys: dict[int, str]) -> Checks:
    grouped: dict[tuple[str, str], list[CheckFacts]] = defaultdict(list)
    for fact in facts:
        grouped[(keys.get(fact.source_id, "?"), fact.check_name)].append(fact)
    lines = [
        CheckTally(
            key=key,
            check=name,
            severity=results[-1].severity,
            evaluations=len(results),
            failed=sum(1 for r in results if not r.passed),
            last_passed=results[-1].passed,
            description=results[-1].description[:ERROR_CHARS],
        )
        for (key, name), results in grouped.items()
    ]
    lines.sort(key=lambda line: (line.last_passed, -line.failed, line.key, line.check))
    failed = sum(1 for f in facts if not f.passed)
    return Checks(evaluations=len(facts), passed=len(facts) - failed, failed=failed, lines=lines)


def changes(data: ReportData) -> Changes:
    return Changes(
        new_sources=[s.key for s in data.sources if data.covers(s.first_seen_at)],
        gone_sources=[s.key for s in data.sources if data.covers(s.gone_since)],
        audit=[
            ChangeLine(
                time=local_time(c.at, data),
                actor=c.actor,
                action=c.action,
                object_type=c.object_type,
                object_repr=c.object_repr,
                fields=", ".join(c.fields),
            )
            for c in data.changes
        ],
    )


def headline(overall: Overall, alerts: AlertSummary) -> str:
    """One sentence a reader gets from the subject line or the Slack header."""
    runs = f"{overall.runs_succeeded} of {overall.runs} runs succeeded"
    sla = (
        f"{overall.sla_percent:g} % of sources fresh all day"
        if overall.sla_percent is not None
        else "freshness not judged"
    )
    return f"{runs}, {sla}, {alerts.fired} alerts fired, {alerts.open} open"
