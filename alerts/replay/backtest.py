"""Backtest: how many alerts would this rule have fired over the last N days?

``backtest(rule, parameters, days, now)`` exports the stored history of the sources the rule
covers as replay lines (runs, checks, lineage and schedules), replays it in the sandbox with
only that rule (parameters optionally overridden) up to ``now``, and returns the alerts that
fired inside the window. A week before the window is replayed too, so that baselines (volume,
duration) are warm; alerts that fire in that week are not counted.

Not replayed: deployment reachability, daemon and tick history (confops keeps polls for two
days only), so deployment rules cannot be backtested; silences, which hold back notifications
but never stop an alert from firing; asset jobs and paused sources, which rules skip.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from alerts.choices import RuleTarget, ScopeKind
from alerts.models import AlertRule
from alerts.replay.lines import DEFAULT_GROUP, ReplayInputError, parse_lines
from alerts.replay.results import AlertRow, iso
from alerts.replay.sandbox import migrated_template, run_in_sandbox
from alerts.replay.specs import rule_spec, validate_rules
from monitoring.choices import (
    OUTCOME_STATUS,
    SUCCESS_OUTCOMES,
    InstigatorKind,
    PushStatus,
    RunStatus,
)
from monitoring.models import CheckResult, Instigator, RunAsset, Source
from monitoring.push import METRIC_NAME_PATTERN

WARM_UP = timedelta(days=7)
MAX_DAYS = 366
METRIC_NAME = re.compile(METRIC_NAME_PATTERN)


class BacktestError(ValueError):
    """The rule cannot be backtested as asked; the message says why, for the admin form."""


@dataclass
class BacktestResult:
    """What the rule would have fired in ``[since, until]``; ``fired`` is the count."""

    rule: str
    kind: str
    parameters: dict[str, Any]
    days: int
    since: datetime
    until: datetime
    alerts: list[AlertRow] = field(default_factory=list)
    notifications: int = 0
    sources: int = 0
    runs: int = 0

    @property
    def fired(self) -> int:
        return len(self.alerts)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "parameters": self.parameters,
            "days": self.days,
            "from": iso(self.since),
            "to": iso(self.until),
            "sources": self.sources,
            "runs": self.runs,
            "fired": self.fired,
            "alerts": [asdict(alert) for alert in self.alerts],
            "notifications": self.notifications,
        }


def find_rule(name_or_id: str) -> AlertRule:
    """A rule by id (all digits) or by name."""
    rule = AlertRule.objects.filter(pk=int(name_or_id)).first() if name_or_id.isdigit() else None
    rule = rule or AlertRule.objects.filter(name=name_or_id).first()
    if rule is None:
        raise BacktestError(f"no rule has the id or name {name_or_id!r}")
    return rule


def backtest(
    rule: AlertRule,
    parameters: dict[str, Any] | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> BacktestResult:
    """Replay the last ``days`` of stored history with ``rule`` alone and count its alerts.

    ``rule`` may be unsaved (the admin's form before saving); ``parameters`` are merged over
    its own. Runs in a child process on a throw-away database (seconds, not milliseconds).
    Raises ``BacktestError`` for a deployment rule, a bad window or invalid parameters.
    """
    now = now or timezone.now()
    return replayed(prepare(rule, parameters, days, now), now)


def backtest_many(
    jobs: Sequence[tuple[AlertRule, dict[str, Any] | None]], days: int, now: datetime
) -> list[BacktestResult]:
    """``backtest`` of several settings (the saved and the edited one) over the same window.

    Each replay is a child process that spends its seconds simulating: they run at the same
    time, so comparing two settings takes about as long as backtesting one (given two free
    cores) instead of twice as long. The database is read first, here in the calling thread.
    """
    prepared = [prepare(rule, parameters, days, now) for rule, parameters in jobs]
    first: list[BacktestResult] = []
    if prepared and not migrated_template().is_file():
        # This process's first child migrates and saves the database the others copy:
        # children started beside it would each migrate too (seconds of CPU each).
        first = [replayed(prepared.pop(0), now)]
    with ThreadPoolExecutor(max_workers=max(len(prepared), 1)) as pool:
        return first + list(pool.map(lambda one: replayed(one, now), prepared))


@dataclass
class Prepared:
    """A backtest read from the database and ready to replay (no database needed any more)."""

    result: BacktestResult
    spec: dict[str, Any]
    lines: list[dict[str, Any]]


def prepare(
    rule: AlertRule, parameters: dict[str, Any] | None, days: int, now: datetime
) -> Prepared:
    """Check the rule and the window and export the history the replay needs."""
    if rule.kind_impl.target != RuleTarget.SOURCE:
        raise BacktestError(
            "deployment rules cannot be backtested: confops keeps no reachability or tick "
            "history long enough"
        )
    if not 1 <= days <= MAX_DAYS:
        raise BacktestError(f"days must be between 1 and {MAX_DAYS}")
    since = now - timedelta(days=days)
    sources = covered_sources(rule)
    labels = source_labels(sources)
    spec = backtest_spec(rule, parameters, labels)
    try:
        validate_rules([spec], origin="backtest")
    except ReplayInputError as exc:
        raise BacktestError(str(exc).removeprefix("backtest: rule 1 ")) from None
    lines = history_lines(sources, labels, since - WARM_UP, now)
    result = BacktestResult(
        rule=spec["name"],
        kind=rule.kind,
        parameters=spec["parameters"],
        days=days,
        since=since,
        until=now,
        sources=len(sources),
        runs=sum(1 for line in lines if "status" in line),
    )
    return Prepared(result, spec, lines)


def replayed(prepared: Prepared, now: datetime) -> BacktestResult:
    """The prepared backtest with the alerts and notifications its replay fired in the window."""
    result, lines = prepared.result, prepared.lines
    if result.runs == 0 and not any(line.get("type") == "check" for line in lines):
        return result  # nothing happened: nothing to judge
    replay = replay_lines(lines, prepared.spec, now)
    result.alerts = [a for a in replay.alerts if datetime.fromisoformat(a.fired_at) >= result.since]
    result.notifications = sum(
        1 for n in replay.notifications if datetime.fromisoformat(n.at) >= result.since
    )
    return result


def replay_lines(lines: list[dict[str, Any]], spec: dict[str, Any], now: datetime) -> Any:
    with tempfile.TemporaryDirectory(prefix="confops-backtest-") as tmp:
        path = Path(tmp) / "history.jsonl"
        text = "".join(json.dumps(line) + "\n" for line in lines)
        parse_lines(text.splitlines())  # a bad export is our bug: fail here, with the line
        path.write_text(text, encoding="utf-8")
        return run_in_sandbox(path, [spec], until=now)


def covered_sources(rule: AlertRule) -> list[Source]:
    """Sources the rule judges: not gone, not paused, not asset jobs (unless it asks), in
    scope. An unsaved rule scoped to listed sources covers none (the list needs a saved rule)."""
    query = Source.objects.filter(is_gone=False, paused=False).select_related("deployment")
    if not rule.include_asset_jobs:
        query = query.filter(is_asset_job=False)
    if rule.scope == ScopeKind.SOURCES and rule.pk is None:
        return []
    query = query.prefetch_related(Prefetch("upstream", queryset=Source.objects.only("pk")))
    return [source for source in query if rule.covers_source(source)]


def source_labels(sources: Iterable[Source]) -> dict[int, str]:
    """The key of each source, prefixed with its deployment where keys collide."""
    sources = list(sources)
    keys = [s.key for s in sources]
    return {
        s.pk: s.key
        if keys.count(s.key) == 1
        else f"{s.deployment.name if s.deployment else 'pushed'}/{s.key}"
        for s in sources
    }


def backtest_spec(
    rule: AlertRule, parameters: dict[str, Any] | None, labels: dict[int, str]
) -> dict[str, Any]:
    """The rule as the only rule of the replay: enabled, and covering every exported source
    (the export already holds only the sources in its scope)."""
    spec = rule_spec(rule, parameters)
    overrides = []
    if rule.pk is not None:
        for override in rule.overrides.all():
            if override.source_id in labels:
                entry = {"parameters": override.parameters, "enabled": override.enabled}
                overrides.append({"source": labels[override.source_id], **entry})
    spec.update(
        {
            "enabled": True,
            "scope": ScopeKind.ALL,
            "scope_group": "",
            "scope_tags": {},
            "scope_sources": [],
            "overrides": overrides,
        }
    )
    return spec


def history_lines(
    sources: list[Source], labels: dict[int, str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Replay lines for the sources: declarations, then runs and checks in ``[start, end]``."""
    run_ids: dict[int, str] = {}
    lines = declaration_lines(sources, labels)
    lines += run_lines(labels, start, end, run_ids)
    lines += check_lines(labels, start, end, run_ids)
    return lines


def declaration_lines(sources: list[Source], labels: dict[int, str]) -> list[dict[str, Any]]:
    lines = []
    for source in sources:
        label = labels[source.pk]
        line: dict[str, Any] = {
            "type": "source",
            "source": label,
            "group": source.group_name or DEFAULT_GROUP,
            "upstream": sorted(labels[u.pk] for u in source.upstream.all() if u.pk in labels),
        }
        tags = {str(k): str(v) for k, v in (source.tags or {}).items()}
        if tags:
            line["tags"] = tags
        lines.append(line)
        lines += [
            {"type": "source", "source": label, **schedule} for schedule in schedules_of(source)
        ]
    return lines


def schedules_of(source: Source) -> list[dict[str, str]]:
    """Running Dagster schedules that target the source, or a pushed source's expected cron."""
    found = []
    if source.deployment_id and source.schedule_names:
        for instigator in Instigator.objects.filter(
            deployment_id=source.deployment_id,
            kind=InstigatorKind.SCHEDULE,
            name__in=source.schedule_names,
            status="RUNNING",
            is_gone=False,
        ).select_related("deployment"):
            found.append(
                {
                    "schedule": instigator.cron,
                    "timezone": instigator.timezone or "UTC",
                    "schedule_name": f"{instigator.deployment.name}/{instigator.name}",
                }
            )
    if source.expected_cron:
        found.append(
            {
                "schedule": source.expected_cron,
                "timezone": source.expected_cron_timezone or "UTC",
                "schedule_name": f"{source.key}/expected",
            }
        )
    return [s for s in found if s["schedule"]]


def run_lines(
    labels: dict[int, str], start: datetime, end: datetime, run_ids: dict[int, str]
) -> list[dict[str, Any]]:
    """One line per RunAsset of a finished run: at its end, status from the outcome."""
    links = (
        RunAsset.objects.filter(
            source_id__in=list(labels),
            outcome__in=list(OUTCOME_STATUS),
            run__status__in=[RunStatus.SUCCESS, RunStatus.FAILURE],
            run__ended_at__gte=start,
            run__ended_at__lte=end,
        )
        .select_related("run")
        .order_by("run__ended_at", "run_id", "source_id")
    )
    lines = []
    for link in links:
        run = link.run
        status = PushStatus.SUCCESS if link.outcome in SUCCESS_OUTCOMES else PushStatus.FAILURE
        assert run.ended_at is not None
        line: dict[str, Any] = {
            "at": iso(run.ended_at),
            "source": labels[link.source_id],
            "status": status,
            "run_id": export_run_id(run.pk, run.run_id, run_ids),
        }
        if run.started_at is not None and run.started_at <= run.ended_at:
            line["started_at"] = iso(run.started_at)
        if run.duration_s is not None and run.duration_s >= 0:
            line["duration_s"] = run.duration_s
        metrics = numeric(link.metrics)
        if metrics:
            line["metrics"] = metrics
        if status == "failure":
            if run.error_message:
                line["error"] = run.error_message[:10_000]
            if run.will_retry:
                line["will_retry"] = True
        lines.append(line)
    return lines


def export_run_id(pk: int, run_id: str, run_ids: dict[int, str]) -> str:
    """The run's id, unless another exported run (a pushed source's) already uses it."""
    if pk not in run_ids:
        taken = set(run_ids.values())
        run_ids[pk] = run_id[:100] if run_id and run_id[:100] not in taken else f"run-{pk}"
    return run_ids[pk]


def numeric(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, dict):
        return {}
    return {
        str(name): value
        for name, value in metrics.items()
        if METRIC_NAME.fullmatch(str(name))
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    }


def check_lines(
    labels: dict[int, str], start: datetime, end: datetime, run_ids: dict[int, str]
) -> list[dict[str, Any]]:
    checks = CheckResult.objects.filter(
        source_id__in=list(labels), evaluated_at__gte=start, evaluated_at__lte=end
    ).order_by("evaluated_at", "pk")
    lines = []
    for check in checks:
        line: dict[str, Any] = {
            "type": "check",
            "at": iso(check.evaluated_at),
            "source": labels[check.source_id],
            "check": check.check_name[:255],
            "passed": check.passed,
            "severity": check.severity,
        }
        if check.description:
            line["description"] = check.description
        if check.run_id in run_ids:
            line["run_id"] = run_ids[check.run_id]
        lines.append(line)
    return lines
