"""The simulated clock of a replay. Runs only inside the sandbox (``manage.py replay --inner``),
whose database is a new temporary file: it creates rules, channels, a deployment and sources.

Lines are stored as the poller stores runs (a ``Run``, then ``Run.record_outcomes``, the door
the poll and pushed reports go through), in time order. The clock advances in steps from the
first event to the end; at every step and at every event time the due lines are stored, then
``evaluate(now)`` and ``send_reminders_and_escalations(now)`` run, as the timer task does.

A month at a 300 s step is about 9,000 steps, and a full evaluation costs a few dozen queries,
so a step where evaluation provably changes nothing the replay reports is skipped: no line was
stored, no alert is pending or holding before it resolves, no reminder or escalation is due, no
silence started or ended, and the time-based rules (the only ones ``now`` alone can change,
judged here on cached histories by the engine's own functions) find exactly what they found at
the last evaluation. Skipping leaves out only the refresh of ``last_seen_at``.

That is ``Clock`` (``--clock full``). The default, ``FocusedClock``, goes further: it judges
only the sources an instant can have changed, and calls the engine only when that judgement
differs (its docstring).
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models.signals import pre_save
from django.utils.text import slugify

from alerts.choices import (
    OPEN_STATES,
    AlertState,
    NotificationEvent,
    ResolvedHow,
    RuleTarget,
    ScopeKind,
)
from alerts.engine import deadlines, evaluation, history, policy
from alerts.engine.evaluation import SubjectKey
from alerts.models import Alert, AlertRule, Channel, Notification, RuleOverride, Silence
from alerts.replay.lines import (
    DEFAULT_GROUP,
    AnyLine,
    CheckLine,
    DeploymentLine,
    Numbered,
    RunLine,
    SilenceLine,
    SourceLine,
    is_timed,
)
from alerts.replay.results import AlertRow, NotificationRow, ReplayResult, iso
from alerts.replay.specs import (
    REPLAY_DEPLOYMENT,
    ChannelRef,
    OverrideSpec,
    RuleSpec,
    channel_table,
    default_channels,
)
from alerts.rules.base import DeploymentHistory, Finding, RunSample, SourceHistory
from monitoring.choices import (
    InstigatorKind,
    LaunchReason,
    RunAssetOutcome,
    RunOrigin,
    RunStatus,
    SourceKind,
)
from monitoring.models import CheckResult, Deployment, Instigator, Outcome, Run, Source

# What a replay reports; silence-expiry reminders to a silence's author are not about alerts.
ALERT_EVENTS = (
    NotificationEvent.FIRING,
    NotificationEvent.UPDATE,
    NotificationEvent.SEVERITY_RAISED,
    NotificationEvent.FLAPPING,
    NotificationEvent.REMINDER,
    NotificationEvent.ESCALATION,
    NotificationEvent.RESOLVED,
)
EVENT_ORDER: dict[str, int] = {event: index for index, event in enumerate(ALERT_EVENTS)}
CLOCKS = ("focused", "full")


class World:
    """The sandbox's deployment, channels, rules and sources, and how each line is stored."""

    def __init__(self, specs: Sequence[RuleSpec], parsed: Sequence[Numbered], start: datetime):
        self.deployment = Deployment.objects.create(
            name=REPLAY_DEPLOYMENT, graphql_url="http://replay.invalid/graphql"
        )
        self.deployment.record_poll_success(start, 0.0)
        self.groups = {
            line.source: line.group
            for line in (item.line for item in parsed)
            if isinstance(line, RunLine | SourceLine | CheckLine) and line.group
        }
        self.given_run_ids = {
            item.line.run_id for item in parsed if isinstance(item.line, RunLine | CheckLine)
        }
        self.sources: dict[str, Source] = {}
        self.schedules: set[str] = set()  # names of the Dagster schedules declared
        self.runs: dict[str, Run] = {}
        self.retrying: dict[str, Run] = {}  # source key -> its failure Dagster will retry
        self.held: list[AnyLine] = []  # lines that arrived while the deployment was unreachable
        self.run_number = 0  # of the last run id made up here
        # What the stored lines changed since the clock last looked (``FocusedClock``), and
        # which of those were stored through the database (their histories must be read again).
        self.touched: set[int] = set()
        self.reload: set[int] = set()
        # Runs the focused clock keeps in memory until the engine next reads the database.
        self.pending: list[tuple[Run, dict[Source, Outcome]]] = []
        self.pending_sources: list[Source] = []
        self.reachability_changed = False
        self.rules = self.create_rules(specs)
        self.scoped: dict[str, list[AlertRule]] = {}
        self.overrides: dict[str, list[tuple[AlertRule, OverrideSpec]]] = {}
        for spec in specs:
            rule = self.rules[spec.name]
            for key in spec.scope_sources:
                self.scoped.setdefault(key, []).append(rule)
            for override in spec.overrides:
                self.overrides.setdefault(override.source, []).append((rule, override))

    # --- Rules and channels

    def create_rules(self, specs: Sequence[RuleSpec]) -> dict[str, AlertRule]:
        channels = {
            name: Channel.objects.create(
                name=name, kind=spec.kind, min_severity=spec.min_severity, enabled=True
            )
            for name, spec in channel_table(specs).items()
        }
        defaults = [channels[channel.name] for channel in default_channels()]

        def pick(refs: list[ChannelRef]) -> list[Channel]:
            return [channels[ref if isinstance(ref, str) else ref.name] for ref in refs]

        rules = {}
        for spec in specs:
            rule = AlertRule.objects.create(
                name=spec.name,
                kind=spec.kind,
                parameters=spec.parameters,
                severity=spec.severity,
                description=spec.description,
                scope=spec.scope,
                scope_deployment=self.deployment if spec.scope == ScopeKind.DEPLOYMENT else None,
                scope_group=spec.scope_group,
                scope_tags=spec.scope_tags,
                include_asset_jobs=spec.include_asset_jobs,
                cooldown_minutes=spec.cooldown_minutes,
                pending_minutes=spec.pending_minutes,
                resolve_hold_minutes=spec.resolve_hold_minutes,
                escalate_after_minutes=spec.escalate_after_minutes,
            )
            rule.channels.set(defaults if spec.channels is None else pick(spec.channels))
            rule.escalation_channels.set(pick(spec.escalation_channels))
            rules[spec.name] = rule
        return rules

    # --- Sources

    def source(self, key: str, now: datetime) -> Source:
        """The source of this key, created on first mention (first seen at ``now``)."""
        found = self.sources.get(key)
        if found is not None:
            return found
        source = Source.objects.create(
            deployment=self.deployment,
            kind=SourceKind.ASSET,
            key=key,
            slug=f"{slugify(key)[:180] or 'source'}-{len(self.sources) + 1}",
            group_name=self.groups.get(key, DEFAULT_GROUP),
            last_seen_at=now,
        )
        # first_seen_at is auto_now_add (the wall clock); rules measure from simulated time.
        Source.objects.filter(pk=source.pk).update(first_seen_at=now)
        source.first_seen_at = now
        for rule in self.scoped.get(key, []):
            rule.scope_sources.add(source)
        for rule, override in self.overrides.get(key, []):
            RuleOverride.objects.create(
                rule=rule, source=source, parameters=override.parameters, enabled=override.enabled
            )
        self.sources[key] = source
        return source

    def declare(self, lines: Sequence[AnyLine], now: datetime) -> None:
        """Source and silence lines take effect from the start, wherever they are in the file."""
        for line in lines:
            if isinstance(line, SourceLine):
                self.declare_source(line, now)
            elif isinstance(line, SilenceLine):
                self.declare_silence(line, now)

    def declare_source(self, line: SourceLine, now: datetime) -> None:
        source = self.source(line.source, now)
        source.upstream.add(*(self.source(key, now) for key in line.upstream))
        if line.tags:
            source.tags = {**source.tags, **line.tags}
        if line.schedule is not None and line.instigator_name not in self.schedules:
            # Several sources may share a schedule: the first line declaring it creates it.
            Instigator.objects.create(
                deployment=self.deployment,
                kind=InstigatorKind.SCHEDULE,
                code_location=REPLAY_DEPLOYMENT,
                name=line.instigator_name,
                repository=REPLAY_DEPLOYMENT,
                cron=line.schedule,
                timezone=line.timezone,
                status="RUNNING",
            )
            self.schedules.add(line.instigator_name)
        if line.schedule is not None and line.instigator_name not in source.schedule_names:
            source.schedule_names = [*source.schedule_names, line.instigator_name]
        source.save(update_fields=["tags", "schedule_names"])

    def declare_silence(self, line: SilenceLine, now: datetime) -> None:
        source = self.source(line.source, now) if line.source else None
        rule = self.rules[line.rule] if line.rule else None
        # Without a matcher the silence covers everything in the replay: its one deployment.
        everything = not (source or line.group or rule)
        Silence.objects.create(
            source=source,
            group=line.group or "",
            rule=rule,
            deployment=self.deployment if everything else None,
            starts_at=line.start,
            ends_at=line.end,
            recurrence_cron=line.cron or "",
            recurrence_timezone=line.timezone,
            duration_minutes=line.duration_minutes,
            catch_up_minutes=line.catch_up_minutes,
            comment=line.comment,
        )

    # --- Events

    def store(
        self, line: AnyLine, now: datetime, histories: dict[int, SourceHistory] | None = None
    ) -> None:
        """Store one due line. While the deployment is unreachable, runs and checks wait and
        are stored when it is reachable again, as the poller resumes from its cursor.

        With ``histories`` (the focused clock's), a plain run of a known source is kept in
        memory and folded into its history (``remember_run``) until ``flush``; anything else
        flushes first, so the database receives every line in order."""
        if isinstance(line, DeploymentLine):
            self.flush()
            self.store_reachability(line)
        elif self.deployment.failing_since is not None:
            self.held.append(line)
        elif histories is not None and self.rememberable(line, histories):
            assert isinstance(line, RunLine)
            self.remember_run(line, histories)
        else:
            self.flush()
            if isinstance(line, RunLine):
                self.store_run(line, now)
            elif isinstance(line, CheckLine):
                self.store_check(line, now)

    def rememberable(self, line: AnyLine, histories: dict[int, SourceHistory]) -> bool:
        """A run of its own (no shared run id, no retry before or after it) of a source whose
        history is cached: what ``remember_run`` stores exactly as ``store_run`` would."""
        if not isinstance(line, RunLine) or line.run_id or line.will_retry:
            return False
        source = self.sources.get(line.source)
        return source is not None and source.pk in histories and line.source not in self.retrying

    def remember_run(self, line: RunLine, histories: dict[int, SourceHistory]) -> None:
        """``store_run`` in memory: the run, its link and the source's latest state are saved
        at the next ``flush``; the source's history is what ``load_sources`` would then read."""
        source = self.sources[line.source]
        ok = line.status == "success"
        run = self.new_run(line, source, RunStatus.SUCCESS if ok else RunStatus.FAILURE, save=False)
        result = Outcome(
            RunAssetOutcome.MATERIALIZED if ok else RunAssetOutcome.FAILED, dict(line.metrics)
        )
        self.pending.append((run, {source: result}))
        self.pending_sources.extend(run.fold_outcomes({source: result}, at=run.ended_at))
        sample = history.recorded_sample(run, result, self.deployment.ui_url)
        histories[source.pk] = remembered(histories[source.pk], sample, source)
        self.touched.add(source.pk)

    def flush(self) -> None:
        """Save the runs kept in memory (two statements) and their sources' latest state."""
        if self.pending:
            Run.create_many(self.pending)
            Source.save_latest_state(self.pending_sources)
            self.pending, self.pending_sources = [], []

    def store_reachability(self, line: DeploymentLine) -> None:
        self.reachability_changed = True
        if not line.reachable:
            error = line.error or "replay: the deployment cannot be reached"
            self.deployment.record_poll_failure(error, line.at, 0.0)
            return
        self.deployment.record_poll_success(line.at, 0.0)
        held, self.held = self.held, []
        for waiting in held:
            self.store(waiting, line.at)

    def store_run(self, line: RunLine, now: datetime) -> None:
        source = self.source(line.source, now)
        ok = line.status == "success"
        status = RunStatus.SUCCESS if ok else RunStatus.FAILURE
        run = self.runs.get(line.run_id) if line.run_id else None
        if run is None:
            run = self.new_run(line, source, status)
        elif not ok:
            self.fail_shared_run(run, line, source)
        outcome = RunAssetOutcome.MATERIALIZED if ok else RunAssetOutcome.FAILED
        self.touched.add(source.pk)
        self.reload.add(source.pk)
        run.record_outcomes({source: Outcome(outcome, dict(line.metrics))}, at=run.ended_at)
        if line.will_retry:
            self.retrying[source.key] = run

    def new_run(self, line: RunLine, source: Source, status: str, save: bool = True) -> Run:
        started = line.started_at
        if started is None:
            started = line.at - timedelta(seconds=line.duration_s or 0)
        duration = line.duration_s
        if duration is None and line.started_at is not None:
            duration = (line.at - line.started_at).total_seconds()
        failed = status == RunStatus.FAILURE
        parent = self.retrying.pop(source.key, None)
        run = Run(
            deployment=self.deployment,
            origin=RunOrigin.DAGSTER,
            run_id=line.run_id or self.new_run_id(),
            job_name=REPLAY_DEPLOYMENT,
            status=status,
            created_at=started,
            started_at=started,
            ended_at=line.at,
            duration_s=duration,
            error_message=(line.error or "") if failed else "",
            failed_step=source.key if failed else "",
            will_retry=line.will_retry,
            partition=line.partition or "",
            details_fetched=True,
            launch_reason=LaunchReason.RETRY if parent else "",
            parent_run_id=parent.run_id if parent else "",
            root_run_id=(parent.root_run_id or parent.run_id) if parent else "",
            retry_number=parent.retry_number + 1 if parent else 0,
        )
        if save:
            run.save(force_insert=True)
        self.runs[run.run_id] = run
        return run

    def fail_shared_run(self, run: Run, line: RunLine, source: Source) -> None:
        """Lines sharing a run_id are one run: it failed if any of its sources failed."""
        run.status = RunStatus.FAILURE
        run.error_message = run.error_message or line.error or ""
        run.failed_step = run.failed_step or source.key
        run.will_retry = run.will_retry or line.will_retry
        run.save(update_fields=["status", "error_message", "failed_step", "will_retry"])

    def new_run_id(self) -> str:
        while True:
            self.run_number += 1
            run_id = f"replay-{self.run_number}"
            if run_id not in self.given_run_ids and run_id not in self.runs:
                return run_id

    def store_check(self, line: CheckLine, now: datetime) -> None:
        source = self.source(line.source, now)
        self.touched.add(source.pk)
        self.reload.add(source.pk)
        CheckResult.objects.create(
            source=source,
            run=self.runs.get(line.run_id) if line.run_id else None,
            dagster_run_id=line.run_id or "",
            check_name=line.check,
            passed=line.passed,
            severity=line.severity,
            description=line.description,
            evaluated_at=line.at,
        )


class Clock:
    """Runs the engine at a step, unless that step provably changes nothing (module docstring).

    ``time_based_keys`` uses ``evaluation.judge_sources`` and ``judge_deployments`` on cached
    snapshots: the same code the engine runs, without the queries.
    """

    def __init__(self, silences: list[Silence], exhaustive: bool = False) -> None:
        self.silences = silences
        self.exhaustive = exhaustive  # evaluate at every step (to check that skipping is exact)
        self.rules: list[AlertRule] = []
        self.histories: dict[int, SourceHistory] = {}
        self.deployments: dict[int, DeploymentHistory] = {}
        self.asset_jobs: set[int] = set()
        self.open_alerts = False
        self.unsettled = True
        self.due: datetime | None = None
        self.keys: frozenset[SubjectKey] = frozenset()
        self.active: frozenset[int] = frozenset()
        self.evaluations = 0

    def tick(self, now: datetime, changed: bool, new_sources: bool) -> None:
        """``changed``: lines were stored; ``new_sources``: some of them created sources (which
        rules' listed sources and overrides may name, so the cached rules are stale too)."""
        first = self.evaluations == 0
        if changed or first or self.needs_evaluation(now):
            self.evaluate(now, reload=changed or first, reload_rules=new_sources or first)

    def evaluate(self, now: datetime, reload: bool, reload_rules: bool) -> None:
        evaluation.evaluate(now)
        policy.send_reminders_and_escalations(now)
        self.evaluations += 1
        if reload_rules:
            self.rules = evaluation.enabled_rules(time_based_only=True)
        if reload:
            self.histories = history.load_sources()
            self.deployments = history.load_deployments(now)
            self.asset_jobs = set(
                Source.objects.filter(is_asset_job=True).values_list("pk", flat=True)
            )
        open_alerts = list(Alert.objects.filter(state__in=OPEN_STATES).select_related("rule"))
        self.open_alerts = bool(open_alerts)
        self.unsettled = any(
            a.state == AlertState.PENDING or a.clear_since is not None for a in open_alerts
        )
        self.due = policy.next_due_at()
        self.keys = self.time_based_keys(now)
        self.active = self.active_silences(now)

    def needs_evaluation(self, now: datetime) -> bool:
        if self.exhaustive or self.unsettled or (self.due is not None and now >= self.due):
            return True
        if self.open_alerts and self.active_silences(now) != self.active:
            return True
        return self.time_based_keys(now) != self.keys

    def time_based_keys(self, now: datetime) -> frozenset[SubjectKey]:
        findings: dict[SubjectKey, Finding] = {}
        evaluated: set[SubjectKey] = set()
        for rule in self.rules:
            if rule.target == RuleTarget.SOURCE:
                evaluation.judge_sources(
                    rule, self.histories, self.asset_jobs, now, findings, evaluated
                )
            else:
                evaluation.judge_deployments(rule, self.deployments, now, findings, evaluated)
        return frozenset(findings)

    def active_silences(self, now: datetime) -> frozenset[int]:
        return frozenset(s.pk for s in self.silences if s.is_active(now))


class FocusedClock:
    """The default clock: at each instant, the engine judges only what can have changed.

    ``Clock`` runs a full ``evaluate(now)`` at every instant where a line is stored and judges
    every source's time-based rules at every quiet step; at 1,000 sources that is hours for a
    month. Here, as the timer pass of production does (``evaluation.evaluate_due``), an instant
    judges the sources whose lines were stored and those whose deadline passed
    (``RuleKind.next_finding_change``, through ``evaluation.next_checks``), first on cached
    histories with the engine's own functions (``judge_sources``). A plain run is folded into
    its cached history in memory (``World.remember_run``) and saved with the others, in two
    statements, only when the engine next reads the database (``World.flush``); other lines
    are stored at once and their histories read again. ``evaluate`` (given the clock's rules
    and histories) and ``send_reminders_and_escalations`` then run, on those sources plus
    every source holding an open alert (or one resolved by hand whose condition may hold),
    only when the outcome can differ from the last one: a finding appeared or cleared, a line
    reached a source with an open alert, a pending period or resolve hold ends
    (``settles_at``), a message is due, a silence started or ended, the deployment's
    reachability or judgement changed. ``tests/alerts/test_replay_fleet.py`` checks that it
    finds what ``Clock`` finds. Unlike production, no 10-minute recheck bound: the kinds'
    deadlines are taken at their word, which the equality test checks.
    """

    def __init__(self, silences: list[Silence]) -> None:
        self.silences = silences
        self.rules: list[AlertRule] = []
        self.source_rules: list[AlertRule] = []
        self.deployment_rules: list[AlertRule] = []
        self.timed_rules: list[AlertRule] = []  # source rules of time-based kinds
        self.timed: set[int] = set()  # their ids
        self.histories: dict[int, SourceHistory] = {}
        self.deployments: dict[int, DeploymentHistory] = {}
        self.asset_jobs: set[int] = set()
        self.found: dict[int, frozenset[SubjectKey]] = {}  # per source, at its last judgement
        # Per source, what rules that are not time-based found when its history last changed.
        self.untimed: dict[int, frozenset[SubjectKey]] = {}
        self.deployment_keys: frozenset[SubjectKey] = frozenset()
        self.deployments_due: datetime | None = None  # when deployment rules can next change
        self.deadlines: list[tuple[datetime, int]] = []  # a heap; stale entries are skipped
        self.next_at: dict[int, datetime] = {}
        self.watched: set[int] = set()  # sources with an open (or held) alert
        self.open_alerts = False
        self.settles_at: datetime | None = None  # a pending alert fires, a held one resolves
        self.due: datetime | None = None
        self.active: frozenset[int] = frozenset()
        self.evaluations = 0
        self.started = False

    def tick(self, now: datetime, world: World, new_sources: bool) -> None:
        touched, world.touched = world.touched, set()
        reload, world.reload = world.reload, set()
        reachability, world.reachability_changed = world.reachability_changed, False
        first = not self.started
        if first or new_sources:
            self.load_rules()
            self.asset_jobs = set(
                Source.objects.filter(is_asset_job=True).values_list("pk", flat=True)
            )
        if first:
            self.histories = history.load_sources()
            touched = set(self.histories)
        elif reload:
            self.histories.update(history.load_sources([Source(pk=pk) for pk in reload]))
        if first or reachability:
            self.deployments = history.load_deployments(now)
        judged = touched | self.pop_due(now)
        changed = self.judge(judged, now, touched)
        if (
            first
            or reachability
            or new_sources
            or (self.deployments_due is not None and now >= self.deployments_due)
        ):
            deployment_keys = self.judge_deployments(now)
            changed = changed or deployment_keys != self.deployment_keys
            self.deployment_keys = deployment_keys
        if (
            first
            or changed
            or reachability
            or (self.settles_at is not None and now >= self.settles_at)
            or bool(touched & self.watched)
            or (self.due is not None and now >= self.due)
            or (self.open_alerts and self.active_silences(now) != self.active)
        ):
            world.flush()
            self.evaluate(now, judged)
        self.started = True

    def pop_due(self, now: datetime) -> set[int]:
        due = set()
        while self.deadlines and self.deadlines[0][0] <= now:
            at, source_id = heapq.heappop(self.deadlines)
            if self.next_at.get(source_id) == at:
                due.add(source_id)
        return due

    def judge(self, source_ids: set[int], now: datetime, touched: set[int]) -> bool:
        """Judge these sources on cached histories, set their next deadlines; return whether
        a finding appeared or cleared. A source whose history did not change since its last
        judgement (one only due) is judged by the time-based rules alone: the others find
        what they found then (``Clock`` relies on the same)."""
        if not source_ids:
            return False
        histories = {pk: self.histories[pk] for pk in source_ids if pk in self.histories}
        changed_histories = {pk: h for pk, h in histories.items() if pk in touched}
        findings: dict[SubjectKey, Finding] = {}
        evaluated: set[SubjectKey] = set()
        timed = self.timed
        for rule in self.source_rules:
            judged = histories if rule.pk in timed else changed_histories
            if judged:
                evaluation.judge_sources(rule, judged, self.asset_jobs, now, findings, evaluated)
        keys: dict[int, set[SubjectKey]] = {
            pk: set() if pk in touched else set(self.untimed.get(pk, ())) for pk in histories
        }
        for key in findings:
            assert key[1] is not None
            keys[key[1]].add(key)
        for pk in changed_histories:
            self.untimed[pk] = frozenset(key for key in keys[pk] if key[0] not in timed)
        changed = False
        for pk, found in keys.items():
            frozen = frozenset(found)
            changed = changed or frozen != self.found.get(pk, frozenset())
            self.found[pk] = frozen
        never = datetime.max.replace(tzinfo=now.tzinfo)
        next_checks = evaluation.next_checks(
            self.timed_rules, histories, self.asset_jobs, now, findings_only=True
        )
        for pk, at in next_checks.items():
            if at == never:
                self.next_at.pop(pk, None)
                continue
            # A kind that answers "now" is asked again at the next instant.
            self.next_at[pk] = at
            heapq.heappush(self.deadlines, (at, pk))
        return changed

    def load_rules(self) -> None:
        """The enabled rules, split once by what they judge (a month has 50,000 instants)."""
        self.rules = evaluation.enabled_rules()
        self.source_rules = [rule for rule in self.rules if rule.target == RuleTarget.SOURCE]
        self.deployment_rules = [rule for rule in self.rules if rule.target != RuleTarget.SOURCE]
        self.timed_rules = [rule for rule in self.source_rules if rule.kind_impl.time_based]
        self.timed = {rule.pk for rule in self.timed_rules}

    def judge_deployments(self, now: datetime) -> frozenset[SubjectKey]:
        """What the deployment rules find, and when that can next change without new data
        (``RuleKind.next_deployment_change``): they are judged again then, or on a reload."""
        findings: dict[SubjectKey, Finding] = {}
        evaluated: set[SubjectKey] = set()
        dues = []
        for rule in self.deployment_rules:
            evaluation.judge_deployments(rule, self.deployments, now, findings, evaluated)
            params = evaluation.own_params(rule)
            for deployment in self.deployments.values():
                due = rule.kind_impl.next_deployment_change(deployment, params, now)
                if due is not None:
                    # A kind that answers "now" is asked again at the next instant.
                    dues.append(max(due, now + timedelta(microseconds=1)))
        self.deployments_due = min(dues, default=None)
        return frozenset(findings)

    def evaluate(self, now: datetime, judged: set[int]) -> None:
        known = evaluation.Known(self.rules, self.histories, self.asset_jobs, self.deployments)
        evaluation.evaluate(now, judged | self.watched, with_deployments=True, known=known)
        policy.send_reminders_and_escalations(now)
        self.evaluations += 1
        open_alerts = list(Alert.objects.filter(state__in=OPEN_STATES))
        self.open_alerts = bool(open_alerts)
        rules = {rule.pk: rule for rule in self.rules}
        settling = [settles_at(alert, rules.get(alert.rule_id), now) for alert in open_alerts]
        self.settles_at = min((at for at in settling if at is not None), default=None)
        held = Alert.objects.filter(
            state=AlertState.RESOLVED, resolved_how=ResolvedHow.MANUAL, clear_since=None
        ).values_list("source_id", flat=True)
        self.watched = {a.source_id for a in open_alerts if a.source_id is not None}
        self.watched.update(pk for pk in held if pk is not None)
        self.due = policy.next_due_at()
        self.active = self.active_silences(now)

    def active_silences(self, now: datetime) -> frozenset[int]:
        return frozenset(s.pk for s in self.silences if s.is_active(now))


def settles_at(alert: Alert, rule: AlertRule | None, now: datetime) -> datetime | None:
    """When the engine changes this open alert with no new finding: a pending one fires after
    its rule's pending period, one whose condition cleared resolves after the resolve hold
    (a finding appearing or clearing before then is a change the clock sees anyway)."""
    if alert.state == AlertState.PENDING:
        if rule is None or alert.condition_since is None:
            return now
        return alert.condition_since + timedelta(minutes=rule.pending_minutes)
    if alert.clear_since is not None:
        hold = rule.resolve_hold_minutes if rule is not None else 0
        return alert.clear_since + timedelta(minutes=hold)
    return None


def remembered(past: SourceHistory, sample: RunSample, source: Source) -> SourceHistory:
    """The history after a run was recorded, as ``load_sources`` would read it: runs ranked by
    their creation, which is their start in a replay (the newer row first in a tie), the
    newest ``RUNS_PER_SOURCE`` kept, and the source's folded latest state."""
    runs = past.runs
    at = sample.started_at
    assert at is not None  # a replayed run starts at its line's start or end
    index = next(
        (i for i, run in enumerate(runs) if run.started_at is None or run.started_at <= at),
        len(runs),
    )
    return replace(
        past,
        runs=(*runs[:index], sample, *runs[index:])[: history.RUNS_PER_SOURCE],
        last_success_at=source.last_success_at,
        last_failure_at=source.last_failure_at,
        metric_keys=tuple(source.metric_keys or {}),
    )


def moments(
    start: datetime, end: datetime, step: timedelta, events: Sequence[datetime]
) -> list[datetime]:
    """Every step from start to end, and every event time, in order."""
    count = int((end - start) / step) if end >= start else -1
    grid = {start + i * step for i in range(count + 1)}
    return sorted(grid | {at for at in events if at <= end})


def simulate(
    parsed: Sequence[Numbered],
    specs: Sequence[RuleSpec],
    step: timedelta,
    tail: timedelta,
    until: datetime | None = None,
    exhaustive: bool = False,
    clock: str = "focused",
) -> ReplayResult:
    """Replay the lines; the clock ends at ``until``, or at the last event plus ``tail``.

    ``clock``: ``"focused"`` (``FocusedClock``, the default) or ``"full"`` (``Clock``, a full
    evaluation at each instant where a line is stored, kept to check the focused one);
    ``exhaustive`` runs ``Clock`` with a full evaluation at every step."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}")
    began = time.perf_counter()
    # The clock keeps its own deadlines (``FocusedClock.next_at``), never the stored ones: the
    # query ``deadlines.source_saving`` makes at every source save (7 % of the time) is idle.
    pre_save.disconnect(sender=Source, dispatch_uid="deadlines-source")
    try:
        return simulated(parsed, specs, step, tail, until, exhaustive, clock, began)
    finally:
        pre_save.connect(deadlines.source_saving, sender=Source, dispatch_uid="deadlines-source")


def simulated(
    parsed: Sequence[Numbered],
    specs: Sequence[RuleSpec],
    step: timedelta,
    tail: timedelta,
    until: datetime | None,
    exhaustive: bool,
    clock: str,
    began: float,
) -> ReplayResult:
    events = sorted(
        (item for item in parsed if is_timed(item.line)),
        key=lambda item: due_at(item.line),
    )
    start = due_at(events[0].line)
    end = until if until is not None else due_at(events[-1].line) + tail
    with transaction.atomic():
        world = World(specs, parsed, start)
        world.declare([item.line for item in parsed if not is_timed(item.line)], start)
        silences = list(Silence.objects.all())
        full = Clock(silences, exhaustive) if exhaustive or clock == "full" else None
        focused = FocusedClock(silences)
        queue = deque(events)
        times = moments(start, end, step, [due_at(item.line) for item in events])
        instants = []
        for now in times:
            at_now = []
            while queue and due_at(queue[0].line) <= now:
                at_now.append(queue.popleft().line)
            instants.append((now, at_now))
        for now, at_now in instants:
            known = len(world.sources)
            remembering = focused.histories if full is None and focused.started else None
            for line in at_now:
                world.store(line, now, remembering)
            if full is not None:
                full.tick(now, bool(at_now), new_sources=len(world.sources) != known)
            else:
                focused.tick(now, world, new_sources=len(world.sources) != known)
        world.flush()
    result = collect()
    result.stats = {
        "lines": len(parsed),
        "sources": len(world.sources),
        "rules": len(specs),
        "start": iso(start),
        "end": iso(end),
        "step_s": step.total_seconds(),
        "steps": len(times),
        "clock": "full" if full is not None else "focused",
        "evaluations": (full or focused).evaluations,
        "seconds": round(time.perf_counter() - began, 2),
    }
    return result


def due_at(line: AnyLine) -> datetime:
    assert isinstance(line, RunLine | CheckLine | DeploymentLine)
    return line.at


def collect() -> ReplayResult:
    """Alerts that fired and the alert notifications, in time order. Rows of one instant come
    from one evaluation pass, whose order the engine does not fix: they are sorted by rule,
    subject, event and channel so that the same history always prints the same result."""
    alerts = [
        AlertRow(
            rule=alert.rule.name,
            kind=alert.rule.kind,
            source=alert.subject,
            severity=alert.severity,
            fired_at=iso(alert.fired_at) or "",
            resolved_at=iso(alert.resolved_at),
        )
        for alert in Alert.objects.filter(fired_at__isnull=False).select_related(
            "rule", "source", "deployment"
        )
    ]
    notifications = [
        NotificationRow(
            rule=str((n.payload.get("rule") or {}).get("name") or (n.rule.name if n.rule else "")),
            sources=[str(s) for s in n.payload.get("sources", [])],
            event=n.event,
            channel=n.channel.name if n.channel else "",
            at=iso(n.created_at) or "",
            incident=n.incident_id,
            title=str((n.payload.get("incident") or {}).get("title") or ""),
        )
        for n in Notification.objects.filter(event__in=ALERT_EVENTS).select_related(
            "channel", "rule"
        )
    ]
    ordered = sorted(
        notifications, key=lambda n: (n.at, n.rule, n.sources, EVENT_ORDER[n.event], n.channel)
    )
    # Incidents numbered 1, 2, ... in the order they were first told: database ids depend on
    # what ran before in the same database.
    numbers: dict[int, int] = {}
    ordered = [
        replace(row, incident=numbers.setdefault(row.incident, len(numbers) + 1))
        if row.incident is not None
        else row
        for row in ordered
    ]
    return ReplayResult(
        alerts=sorted(alerts, key=lambda a: (a.fired_at, a.rule, a.source)),
        notifications=ordered,
    )
