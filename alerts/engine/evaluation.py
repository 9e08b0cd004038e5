"""Judge sources and deployments against the enabled rules, and reconcile with open alerts.

``evaluate(now)`` is a pure function of stored history and ``now`` up to the point where it
writes: findings open alerts (after the rule's pending period), cleared conditions resolve them
(after the resolve hold), and the notifications these changes cause are written in the same
transaction. Only the (rule, subject) pairs evaluated in this pass are reconciled, so judging the
few sources a poll touched never resolves anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from alerts.choices import OPEN_STATES, AlertEventKind, AlertState, ResolvedHow, RuleTarget
from alerts.engine import deadlines, history, locks, policy
from alerts.engine.silences import active_silences, silence_for
from alerts.models import Alert, AlertRule, scope_matches
from alerts.rules.base import (
    DeploymentHistory,
    Finding,
    Params,
    ParamsError,
    RuleKind,
    SourceHistory,
    all_kinds,
    cause_kinds,
    consequence_kinds,
)
from monitoring.models import Source

logger = logging.getLogger(__name__)

# (rule id, source id or None, deployment id or None)
SubjectKey = tuple[int, int | None, int | None]


@dataclass
class EvaluationResult:
    evaluated: int = 0
    # Sources judged (each against every rule that covers it).
    sources: int = 0
    findings: int = 0
    opened: list[Alert] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    notifications: int = 0
    refreshed: list[Alert] = field(default_factory=list)
    # Fired alerts whose condition came back while they recovered (a flap).
    returned: list[Alert] = field(default_factory=list)
    # Alerts someone was told about whose failing partitions grew (a backfill going on).
    grown: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class Known:
    """What a caller of ``evaluate`` already holds in memory, as the engine would read it:
    the enabled rules (``enabled_rules``), sources' histories (``history.load_sources``), the
    asset jobs among them and the deployments' histories (``history.load_deployments``)."""

    rules: list[AlertRule]
    histories: Mapping[int, SourceHistory]
    asset_jobs: set[int]
    deployments: dict[int, DeploymentHistory]


def enabled_rules(time_based_only: bool = False) -> list[AlertRule]:
    """The rules evaluation judges: enabled, valid, and about sources or deployments. Rules of
    an internal kind (about confops itself) are the watcher's (``alerts.engine.watcher``), which
    runs when this pass cannot."""
    rules = list(
        AlertRule.objects.filter(enabled=True).prefetch_related(
            "scope_sources", "channels", "escalation_channels", "overrides"
        )
    )
    valid = []
    for rule in rules:
        try:
            rule.params()
        except (ParamsError, KeyError) as exc:
            logger.error("rule %s is skipped: invalid parameters or kind: %s", rule.name, exc)
            continue
        if rule.kind_impl.internal:
            continue
        if not time_based_only or rule.kind_impl.time_based:
            valid.append(rule)
    return valid


def evaluate(
    now: datetime,
    source_ids: Iterable[int] | None = None,
    time_based_only: bool = False,
    with_deployments: bool | None = None,
    record_next_checks: bool = False,
    known: Known | None = None,
) -> EvaluationResult:
    """Evaluate every enabled rule (or only time-based ones) on the given sources (or all),
    and on the deployments when judging all sources (or when ``with_deployments``). With
    ``record_next_checks``, store when the timer pass must judge these sources again.
    ``known``: the enabled rules and the given sources' histories as the caller holds them,
    equal to what the database holds (a replay keeps them in memory), so they are not read."""
    rules = known.rules if known is not None else enabled_rules(time_based_only)
    wanted = None if source_ids is None else [Source(pk=pk) for pk in set(source_ids)]
    if known is not None and wanted is not None:
        histories = {s.pk: known.histories[s.pk] for s in wanted if s.pk in known.histories}
    else:
        histories = history.load_sources(wanted) if wanted != [] else {}
    if with_deployments is None:
        with_deployments = source_ids is None
    if known is not None:
        asset_jobs, deployments = known.asset_jobs, known.deployments
    elif with_deployments or source_ids is None:
        deployments = history.load_deployments(now)
        asset_jobs = set(Source.objects.filter(is_asset_job=True).values_list("pk", flat=True))
    else:
        # Only these sources' own deployments and flags: a poll's evaluation of one deployment
        # read the whole fleet's (8 % of the workers' time at 100 deployments).
        sources = Source.objects.filter(pk__in=list(histories))
        asset_jobs = set(sources.filter(is_asset_job=True).values_list("pk", flat=True))
        owners = set(sources.exclude(deployment=None).values_list("deployment_id", flat=True))
        deployments = history.load_deployments(now, owners)
    findings: dict[SubjectKey, Finding] = {}
    evaluated: set[SubjectKey] = set()
    for rule in rules:
        if rule.target == RuleTarget.SOURCE:
            judge_sources(rule, histories, asset_jobs, now, findings, evaluated)
        elif with_deployments:
            judge_deployments(rule, deployments, now, findings, evaluated)
    judged = None if source_ids is None else set(histories)
    result = reconcile(
        {r.pk: r for r in rules}, evaluated, findings, histories, deployments, now, judged
    )
    result.evaluated, result.findings = len(evaluated), len(findings)
    result.sources = len(histories)
    if record_next_checks and not time_based_only:
        deadlines.store(next_checks(rules, histories, asset_jobs, now), now)
    return result


def evaluate_due(now: datetime, shard: deadlines.Shard | None = None) -> EvaluationResult:
    """The timer pass: every rule on the deployments and on the sources that are due
    (``deadlines``), so an idle fleet costs a few indexed queries. With ``shard``, only that
    shard's due sources, and the deployments only in the fleet shard."""
    return evaluate(
        now,
        deadlines.due_source_ids(now, shard),
        with_deployments=shard is None or shard == deadlines.FLEET,
        record_next_checks=True,
    )


def evaluate_shard(
    now: datetime, shard: deadlines.Shard, wait_seconds: float = 10.0
) -> EvaluationResult | None:
    """One shard of the timer pass under its lock, so no two workers judge it at once; None
    when another held it throughout (its sources stay due for the next pass)."""
    with locks.evaluation_lock(shard.lock_name, wait_seconds) as locked:
        if not locked:
            logger.warning("evaluation of shard %s skipped: lock held", shard.lock_name)
            return None
        return evaluate_due(now, shard)


def judge_sources(
    rule: AlertRule,
    histories: dict[int, SourceHistory],
    asset_jobs: set[int],
    now: datetime,
    findings: dict[SubjectKey, Finding],
    evaluated: set[SubjectKey],
) -> None:
    evaluate_source = rule.kind_impl.evaluate_source
    for h, params in judged_sources(rule, histories, asset_jobs):
        key = (rule.pk, h.source_id, None)
        evaluated.add(key)
        finding = evaluate_source(h, params, now)
        if finding is not None:
            findings[key] = finding


def judged_sources(
    rule: AlertRule, histories: dict[int, SourceHistory], asset_jobs: set[int]
) -> Iterator[tuple[SourceHistory, Params]]:
    """The sources a source rule judges, each with its parameters (an override's if any):
    not paused, in scope, not switched off by an override."""
    overrides, params_cache = judging_table(rule)
    for h in histories.values():
        if h.paused or (h.source_id in asset_jobs and not rule.include_asset_jobs):
            continue
        if not scope_matches(rule, h.deployment_id, h.group, h.tags, h.source_id):
            continue
        override = overrides.get(h.source_id)
        if override is not None and not override.enabled:
            continue
        yield h, params_for(rule, override, params_cache)


def own_params(rule: AlertRule) -> Params:
    """The rule's own parsed parameters (no override), parsed once per rule instance."""
    return params_for(rule, None, judging_table(rule)[1])


def judging_table(rule: AlertRule) -> tuple[dict[int, Any], dict[int | None, Params]]:
    """The rule's overrides by source and its parsed parameters by override, built once per
    rule instance. A pass loads its rules afresh, so these cannot go stale; the replay's clock
    judges thousands of instants with one load, and rebuilt them (a query set and a parameter
    validation per rule) at each."""
    table: tuple[dict[int, Any], dict[int | None, Params]] | None = rule.__dict__.get(
        "_judging_table"
    )
    if table is None:
        table = ({o.source_id: o for o in rule.overrides.all()}, {})
        rule.__dict__["_judging_table"] = table
    return table


def next_checks(
    rules: list[AlertRule],
    histories: dict[int, SourceHistory],
    asset_jobs: set[int],
    now: datetime,
    findings_only: bool = False,
) -> dict[int, datetime]:
    """When each judged source is next due for the timer pass: the earliest moment one of its
    time-based rules' judgement could change without new data (``deadlines``); far in the
    future for a source no time-based rule judges (``deadlines.store`` caps it). With
    ``findings_only``, when what they find could change (``RuleKind.next_finding_change``:
    the replay's clock)."""
    next_at = dict.fromkeys(histories, datetime.max.replace(tzinfo=now.tzinfo))
    for rule in rules:
        if rule.target != RuleTarget.SOURCE or not rule.kind_impl.time_based:
            continue
        kind = rule.kind_impl
        ask = kind.next_finding_change if findings_only else kind.next_check
        for h, params in judged_sources(rule, histories, asset_jobs):
            at = ask(h, params, now)
            if at is not None and at < next_at[h.source_id]:
                next_at[h.source_id] = at
    return next_at


def params_for(rule: AlertRule, override: Any, cache: dict[int | None, Params]) -> Params:
    key = override.pk if override is not None else None
    if key not in cache:
        cache[key] = rule.params(override.parameters if override is not None else None)
    return cache[key]


def judge_deployments(
    rule: AlertRule,
    deployments: dict[int, DeploymentHistory],
    now: datetime,
    findings: dict[SubjectKey, Finding],
    evaluated: set[SubjectKey],
) -> None:
    params = own_params(rule)
    evaluate_deployment = rule.kind_impl.evaluate_deployment
    for d in deployments.values():
        if not d.enabled or not rule.covers_deployment(d.deployment_id):
            continue
        key = (rule.pk, None, d.deployment_id)
        evaluated.add(key)
        finding = evaluate_deployment(d, params, now)
        if finding is not None:
            findings[key] = finding


def subject_key(alert: Alert) -> SubjectKey:
    if alert.source_id is not None:
        return (alert.rule_id, alert.source_id, None)
    return (alert.rule_id, None, alert.deployment_id)


@transaction.atomic
def reconcile(
    rules: dict[int, AlertRule],
    evaluated: set[SubjectKey],
    findings: dict[SubjectKey, Finding],
    histories: dict[int, SourceHistory],
    deployments: dict[int, DeploymentHistory],
    now: datetime,
    judged_source_ids: set[int] | None = None,
) -> EvaluationResult:
    """With ``judged_source_ids`` (None: every source), only the open alerts of the subjects
    judged are locked, so evaluations of other sources (another shard, a poll) wait for none."""
    result = EvaluationResult()
    rows = Alert.objects.select_for_update(of=("self",)).filter(
        state__in=OPEN_STATES, rule_id__in=list(rules)
    )
    if judged_source_ids is not None:
        judged_deployments = [key[2] for key in evaluated if key[1] is None]
        rows = rows.filter(
            Q(source_id__in=judged_source_ids)
            | Q(source__isnull=True, deployment_id__in=judged_deployments)
        )
    open_alerts = {subject_key(a): a for a in rows.select_related("rule", "source")}
    by_hand = resolved_by_hand_while_holding(rules)
    for key in evaluated:
        rule, finding, alert = rules[key[0]], findings.get(key), open_alerts.get(key)
        if finding is not None and (alert is not None or key not in by_hand):
            open_alerts[key] = upsert(alert, rule, key, finding, histories, now, result)
        elif alert is not None:
            clear(alert, rule, now, result)
    recovered = [pk for key in evaluated if key not in findings for pk in by_hand.get(key, [])]
    Alert.objects.filter(pk__in=recovered).update(clear_since=now)
    Alert.objects.bulk_update(result.refreshed, REFRESHED_FIELDS)
    holding = [open_alerts[k].pk for k in findings if k in open_alerts]
    Alert.objects.filter(pk__in=holding).update(last_seen_at=now)
    touched = [a for k, a in open_alerts.items() if k in evaluated and a.is_open]
    released = apply_suppression(touched, deployments, now)
    result.notifications = policy.on_changes(
        result.fired, released, result.resolved, now, result.returned, result.grown
    )
    return result


def resolved_by_hand_while_holding(rules: dict[int, AlertRule]) -> dict[SubjectKey, list[int]]:
    """Alerts an operator resolved while their condition still held (no ``clear_since`` yet).

    The operator said "dealt with": until a pass finds the condition cleared (then recorded as
    the resolved alert's ``clear_since``), it opens no new alert, which would page again a second
    later for the same failure. Once it has cleared, its return is a new incident.
    """
    held: dict[SubjectKey, list[int]] = {}
    for alert in Alert.objects.filter(
        state=AlertState.RESOLVED,
        resolved_how=ResolvedHow.MANUAL,
        clear_since__isnull=True,
        rule_id__in=list(rules),
    ).only("pk", "rule_id", "source_id", "deployment_id"):
        held.setdefault(subject_key(alert), []).append(alert.pk)
    return held


def upsert(
    alert: Alert | None,
    rule: AlertRule,
    key: SubjectKey,
    finding: Finding,
    histories: dict[int, SourceHistory],
    now: datetime,
    result: EvaluationResult,
) -> Alert:
    severity = finding.severity or rule.severity
    run_url = (
        next((r.url for r in histories[key[1]].runs if r.run_id == finding.run_id), "")
        if key[1] in histories and finding.run_id
        else ""
    )
    if alert is None:
        deployment_id = key[2] if key[1] is None else histories[key[1]].deployment_id
        alert = Alert.objects.create(
            rule=rule,
            source_id=key[1],
            deployment_id=deployment_id,
            state=AlertState.PENDING,
            severity=severity,
            summary=finding.summary[:500],
            details=finding.details,
            run_id=finding.run_id,
            run_url=run_url,
            opened_at=now,
            condition_since=finding.since,
            last_seen_at=now,
        )
        alert.record(AlertEventKind.OPENED, now, summary=alert.summary)
        result.opened.append(alert)
    else:
        recovering = alert.clear_since is not None and alert.fired_at is not None
        told = partitions_of(alert.details)
        if refresh(alert, finding, severity, run_url, now):
            result.refreshed.append(alert)
            if alert.last_notified_at is not None and partitions_of(alert.details) - told:
                result.grown.append(alert)
        if recovering:
            result.returned.append(alert)
    pending = timedelta(minutes=rule.pending_minutes)
    # The stored start, not this finding's: some kinds' ``since`` moves with each evaluation.
    if alert.state == AlertState.PENDING and now - alert.condition_since >= pending:
        alert.fire(now)
        result.fired.append(alert)
    return alert


def partitions_of(details: dict[str, Any] | None) -> set[str]:
    """The failing partitions a finding lists (``details.partitions``)."""
    return set((details or {}).get("partitions") or [])


REFRESHED_FIELDS = [
    "summary",
    "details",
    "severity",
    "run_id",
    "run_url",
    "clear_since",
    "occurrences",
]


def refresh(alert: Alert, finding: Finding, severity: str, run_url: str, now: datetime) -> bool:
    """Update an open alert in memory; return whether it changed (changed ones are written in
    one bulk update, so a pass costs the same queries with 10 or 1,000 open alerts)."""
    if finding.run_id and finding.run_id != alert.run_id:
        alert.occurrences += 1
        alert.record(AlertEventKind.UPDATED, now, summary=finding.summary, run_id=finding.run_id)
    new = (finding.summary[:500], finding.details, severity, finding.run_id or alert.run_id)
    old = (alert.summary, alert.details, alert.severity, alert.run_id)
    if new == old and alert.clear_since is None:
        return False
    alert.summary, alert.details, alert.severity, alert.run_id = new
    alert.run_url, alert.clear_since = run_url or alert.run_url, None
    return True


def clear(alert: Alert, rule: AlertRule, now: datetime, result: EvaluationResult) -> None:
    if alert.state == AlertState.PENDING:
        alert.resolve(now, ResolvedHow.CLEARED)  # never fired: nobody was told, nobody is
        return
    if alert.clear_since is None:
        alert.clear_since = now
        alert.save(update_fields=["clear_since"])
    if now - alert.clear_since >= timedelta(minutes=rule.resolve_hold_minutes):
        alert.resolve(now, ResolvedHow.CLEARED)
        result.resolved.append(alert)


def apply_suppression(
    alerts: list[Alert], deployments: dict[int, DeploymentHistory], now: datetime
) -> list[Alert]:
    """Mark silenced, inhibited and folded alerts; return firing alerts no longer held back
    that nobody was told about yet (their firing message goes out now)."""
    silences = active_silences(now)
    causes = upstream_causes(alerts)
    explaining = explaining_alerts()
    released = []
    for alert in alerts:
        was_suppressed = alert.suppressed
        silence = silence_for(alert, silences)
        deployment_id = alert.source.deployment_id if alert.source else None
        deployment = deployments.get(deployment_id) if deployment_id else None
        inhibited = bool(
            alert.source_id
            and deployment_id
            and (
                (deployment and deployment.failing_since)
                or explained(alert, explaining.get(deployment_id, ()))
            )
        )
        cause = causes.get(alert.pk)
        # Compare ids: reading the related objects would cost a query per alert.
        wanted = (silence.pk if silence else None, inhibited, cause.pk if cause else None)
        changed = wanted != (alert.silenced_by_id, alert.inhibited, alert.folded_into_id)
        if not changed:
            continue
        if silence and alert.silenced_by_id != silence.pk:
            alert.record(AlertEventKind.SILENCED, now, note=silence.comment, silence=silence.pk)
        if cause and alert.folded_into_id != cause.pk:
            alert.record(AlertEventKind.FOLDED, now, into=cause.pk, summary=cause.summary)
        alert.silenced_by, alert.inhibited, alert.folded_into = silence, inhibited, cause
        alert.save(update_fields=["silenced_by", "inhibited", "folded_into"])
        never_told = alert.last_notified_at is None and alert.state == AlertState.FIRING
        # A consequence unfolded because its cause is clearing is told now if it still holds;
        # one clearing along with its cause (the same recovery) goes quietly.
        if was_suppressed and not alert.suppressed and never_told and alert.clear_since is None:
            released.append(alert)
    return released


def explaining_alerts() -> dict[int, list[tuple[RuleKind, dict[str, Any]]]]:
    """Per deployment, its open control-plane alerts that explain source alerts (each deployment
    kind says which kinds, ``RuleKind.explains``, and of which sources, ``explains_source``),
    with their details: a dead scheduler's deployment alert holds back its sources' stale and
    missed-schedule alerts. Only an alert whose condition still holds."""
    kinds = {name: k for name, k in all_kinds().items() if k.explains}
    found: dict[int, list[tuple[RuleKind, dict[str, Any]]]] = {}
    if not kinds:
        return found
    for deployment_id, kind_name, details in Alert.objects.filter(
        state__in=(AlertState.FIRING, AlertState.ACKNOWLEDGED),
        deployment__isnull=False,
        rule__kind__in=list(kinds),
        clear_since__isnull=True,
    ).values_list("deployment_id", "rule__kind", "details"):
        found.setdefault(deployment_id, []).append((kinds[kind_name], details or {}))
    return found


def explained(alert: Alert, explaining: Iterable[tuple[RuleKind, dict[str, Any]]]) -> bool:
    """Whether one of its deployment's open control-plane alerts explains this source alert
    (a stopped schedule explains only its own targets' staleness)."""
    return alert.source is not None and any(
        alert.rule.kind in kind.explains and kind.explains_source(details, alert.source)
        for kind, details in explaining
    )


def upstream_causes(alerts: list[Alert]) -> dict[int, Alert]:
    """For each consequence alert, the open failure alert of its own source or of a source
    upstream of it: a failed daily run also goes stale, and that is one incident, not two.
    Each kind says whether it is a cause or a consequence (``RuleKind.cause``/``consequence``).

    Only a failure whose condition still holds is a cause: one waiting out its resolve hold
    (``clear_since`` set) has recovered, so it explains nothing that happens after: an 80 %
    drop two minutes after a recovery is its own incident (docs/architecture.md, "Held back")."""
    consequences = consequence_kinds()
    candidates = [a for a in alerts if a.source_id and a.rule.kind in consequences]
    if not candidates:
        return {}
    ancestors = ancestor_map({a.source_id for a in candidates if a.source_id})
    failing = {
        a.source_id: a
        for a in Alert.objects.filter(
            state__in=(AlertState.FIRING, AlertState.ACKNOWLEDGED),
            rule__kind__in=cause_kinds(),
            clear_since__isnull=True,
        ).order_by("fired_at")
    }
    causes = {}
    for alert in candidates:
        source_id = alert.source_id or 0
        for upstream_id in (source_id, *ancestors.get(source_id, ())):
            if upstream_id in failing:
                causes[alert.pk] = failing[upstream_id]
                break
    return causes


def ancestor_map(source_ids: set[int]) -> dict[int, list[int]]:
    """These sources' upstream sources, transitively (nearest first), one query per level of
    lineage: the whole fleet's (10,000 sources) read and walked at every evaluation with a
    consequence alert was 5 % of the workers' time at 100 deployments."""
    parents: dict[int, list[int]] = {}
    frontier = set(source_ids)
    while frontier:
        for child in frontier:
            parents.setdefault(child, [])
        for child, parent in Source.upstream.through.objects.filter(
            from_source_id__in=list(frontier)
        ).values_list("from_source_id", "to_source_id"):
            parents[child].append(parent)
        frontier = {p for child in frontier for p in parents[child]} - parents.keys()
    ancestors: dict[int, list[int]] = {}
    for start in source_ids:
        seen: list[int] = []
        queue = list(parents[start])
        while queue:
            node = queue.pop(0)
            if node not in seen and node != start:
                seen.append(node)
                queue.extend(parents.get(node, []))
        ancestors[start] = seen
    return ancestors
