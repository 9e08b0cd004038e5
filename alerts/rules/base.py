"""The contract between the alert engine and rule kinds.

A rule kind is a pure function of (history, parameters, now) that returns a finding or None. It
reads only the frozen snapshots below, never the database or the clock, so the same code judges
live data, replays and backtests. Parameters are pydantic models: validation messages reach the
admin and the API as they are, so they must read well ("percent: must be at most 100").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from alerts.choices import RuleTarget
from confops.common.field_errors import field_messages
from monitoring.cadence import Cadence, cadence
from monitoring.choices import SUCCESS_OUTCOMES

T = TypeVar("T")

# Where a sample with no time sorts among the others (last, newest first).
EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StepTiming:
    """The Dagster step that materialised a source in a run, and how long it took: a slow step
    of a multi-asset run is its own asset's delay, not every asset's."""

    key: str
    started_at: datetime | None
    seconds: float


@dataclass(frozen=True)
class RunSample:
    """One run of one source, as rules see it (newest first in ``SourceHistory.runs``)."""

    run_id: str
    status: str  # RunStatus: SUCCESS, FAILURE, CANCELED, STARTED, QUEUED...
    outcome: str  # RunAssetOutcome for this source: materialized, failed, skipped, planned...
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    failed_step: str = ""
    will_retry: bool = False
    url: str = ""
    step: StepTiming | None = None  # None when unknown: pushed sources, jobs, old rows
    partition: str = ""  # Dagster's partition key of the run; "" for an unpartitioned run
    backfill_id: str = ""  # the Dagster backfill that launched the run, if any
    runless: bool = False  # an event reported outside any run (``SourceHistory.runless``)

    @property
    def succeeded(self) -> bool:
        """This source was produced, even if another step of the same run failed."""
        return self.outcome in SUCCESS_OUTCOMES

    @property
    def failed_finally(self) -> bool:
        """A failure of this source that Dagster will not retry."""
        return self.status == "FAILURE" and self.outcome == "failed" and not self.will_retry

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCESS", "FAILURE", "CANCELED")

    @property
    def at(self) -> datetime | None:
        return self.ended_at or self.started_at


@dataclass(frozen=True)
class CheckSample:
    check_name: str
    passed: bool
    severity: str  # WARN or ERROR
    description: str
    evaluated_at: datetime
    run_id: str = ""
    blocking: bool = False  # declared blocking: its failure stopped downstream materialisations


@dataclass(frozen=True)
class ScheduleSample:
    """A schedule that targets the source (from Dagster), or the expected cron of a pushed one."""

    name: str
    cron: str
    timezone: str
    running: bool


@dataclass(frozen=True)
class SourceHistory:
    """What rules may know about one source at ``now``: its recent runs and latest state."""

    source_id: int
    key: str
    kind: str  # asset, job, pushed
    deployment_id: int | None
    group: str
    tags: dict[str, str]
    first_seen_at: datetime
    runs: tuple[RunSample, ...]  # newest first; finished runs in the window plus open ones
    last_success_at: datetime | None  # may be older than the window
    last_failure_at: datetime | None
    checks: tuple[CheckSample, ...] = ()  # newest first, the latest evaluation per check first
    schedules: tuple[ScheduleSample, ...] = ()
    upstream_ids: tuple[int, ...] = ()
    paused: bool = False
    freshness_policy: dict[str, Any] = field(default_factory=dict)  # declared in Dagster
    partitions_definition: str = ""  # Dagster's description of it; "" when unpartitioned
    volume_metric: str = ""  # the operator's volume key; "" lets monitoring.volume choose
    metric_keys: tuple[str, ...] = ()  # every numeric metadata key the source has reported
    # Materialisations and observations reported outside any run (external assets,
    # ``report_runless_asset_event``, observable sources), newest first, as samples with no
    # run id: they count like successes for freshness and volume, never for run rules.
    runless: tuple[RunSample, ...] = ()
    # What rules work out from the history alone (``remember``): stale asks for its judgement
    # to judge and again for its next check, and a replay judges the same history again at
    # every deadline until it changes. Outside comparison; ``replace`` starts a new one.
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def remember(self, key: Hashable, work_out: Callable[[], T]) -> T:
        """``work_out()``, once per key for this history: only for what depends on the history
        and the key alone (never on the clock)."""
        if key not in self._memo:
            self._memo[key] = work_out()
        return cast(T, self._memo[key])

    def successes(self) -> list[RunSample]:
        return [run for run in self.runs if run.succeeded]

    def produced(self) -> list[RunSample]:
        """Successes and runless events together, newest first: what says when the source was
        last produced and with which metadata."""
        if not self.runless:
            return self.successes()
        merged = [*self.successes(), *self.runless]
        return sorted(merged, key=lambda run: run.at or EARLIEST, reverse=True)

    def cadence(self, reference: datetime) -> Cadence:
        """When a success is next expected after ``reference`` (the last success, or first
        sighting) and how often: ``monitoring.cadence`` from what the source knows."""
        return self.remember(("cadence", reference), lambda: self.work_out_cadence(reference))

    def work_out_cadence(self, reference: datetime) -> Cadence:
        moments = [run.at for run in self.produced() if run.at is not None]
        durations = [run.duration_s for run in self.successes() if run.duration_s is not None]
        return cadence(
            reference=reference,
            freshness_policy=self.freshness_policy,
            schedules=self.schedules,
            successes=moments,
            durations_s=durations,
        )


@dataclass(frozen=True)
class TickSample:
    instigator: str
    kind: str  # schedule or sensor
    tick_id: str
    at: datetime
    error: str


@dataclass(frozen=True)
class OpenRun:
    """A Dagster run of a deployment that has not reached a terminal status yet, and since when
    it has been in its current status (created for QUEUED, the last status change otherwise)."""

    run_id: str
    job: str
    status: str  # QUEUED, STARTING, CANCELING, STARTED...
    since: datetime


@dataclass(frozen=True)
class StoppedInstigator:
    """A schedule or sensor confops saw RUNNING and now sees STOPPED, and when it saw that."""

    name: str
    kind: str  # schedule or sensor
    stopped_at: datetime
    target_jobs: tuple[str, ...] = ()  # the jobs it starts (its targets' sources name them)


@dataclass(frozen=True)
class DeploymentHistory:
    """What deployment rules may know: reachability, daemons, code locations, ticks."""

    deployment_id: int
    name: str
    enabled: bool
    last_success_at: datetime | None
    failing_since: datetime | None
    last_error: str
    consecutive_failures: int
    daemon_health: dict[str, dict[str, Any]]
    code_location_errors: dict[str, str]
    failed_ticks: tuple[TickSample, ...] = ()  # newest first, recent ones
    instigator_last_status: dict[str, str] = field(default_factory=dict)  # name -> tick status
    open_runs: tuple[OpenRun, ...] = ()  # runs not finished, oldest first
    stopped_instigators: tuple[StoppedInstigator, ...] = ()


class ExplainedSource(Protocol):
    """What a deployment kind reads of a source to say whether its alert explains that source's
    alerts (``RuleKind.explains_source``): a monitoring ``Source``."""

    code_location: str
    job_names: list[str]
    schedule_names: list[str]
    sensor_names: list[str]


@dataclass(frozen=True)
class Finding:
    """A condition that holds now. ``since`` is when it began, for the pending period."""

    summary: str  # one line a person reads first: "elra_conferences failed: HTTP 503 ..."
    since: datetime
    details: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    severity: str | None = None  # overrides the rule's severity (e.g. a check's ERROR)


class Params(BaseModel):
    """Base of every kind's parameters: unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Loosening(NamedTuple):
    """One step looser on a kind's one obvious knob (the daily report's suggestions)."""

    parameter: str
    current: float
    looser: float


@dataclass(frozen=True)
class DropBand:
    """A band a source's metric chart draws: ``percent`` below the trailing average of up to
    ``window_runs`` earlier values (drawn once ``min_history`` values exist)."""

    metric: str
    percent: float
    window_runs: int
    min_history: int


@dataclass(frozen=True)
class BoundsBand:
    """Fixed lines a source's metric chart draws: a minimum and/or a maximum."""

    metric: str
    minimum: float | None
    maximum: float | None


ChartBand = DropBand | BoundsBand


class RuleKind:
    """Subclass per kind, in its own module, and register it with ``@register``.

    Besides judging, a kind answers what the rest of confops needs to know about it (the facts
    and hooks below), so that nothing outside ``alerts/rules/`` names a kind by string.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    target: ClassVar[str] = RuleTarget.SOURCE
    params: ClassVar[type[Params]] = Params
    # Parameters a per-source override may change (e.g. the staleness threshold).
    overridable: ClassVar[tuple[str, ...]] = ()
    # Evaluated on a timer as well as after polls (time alone can make it true).
    time_based: ClassVar[bool] = False
    # A failure of a source that explains alerts of consequence kinds on it and downstream.
    cause: ClassVar[bool] = False
    # About a source's data, which an open cause upstream (or on the source) explains: its
    # alert is folded into the cause's, one incident rather than two.
    consequence: ClassVar[bool] = False
    # Judged by the watcher about confops itself, not by the engine's pass (which beat
    # schedules, and a dead beat cannot report its own death): its alert reminds and escalates
    # from the watcher and, without channels of its own, goes to every enabled channel.
    internal: ClassVar[bool] = False
    # For a deployment kind: the source kinds whose alerts on that deployment's sources an open
    # alert of this kind explains (a dead scheduler explains its missed schedules and stale
    # sources): they are held back as inhibited while it holds, one page rather than many.
    explains: ClassVar[frozenset[str]] = frozenset()

    def explains_source(self, details: dict[str, Any], source: ExplainedSource) -> bool:
        """Whether an open alert of this kind (its ``details``) explains the ``explains`` alerts
        of ``source``, one of its deployment's sources: by default every one of them."""
        return True

    def loosened(self, parameters: dict[str, Any]) -> Loosening | None:
        """One step looser on the kind's one obvious knob, from the rule's stored parameters;
        None for kinds without one (the report suggests nothing for them)."""
        return None

    def freshness_limit(self, params: Any) -> timedelta | None:
        """How long a source may go without a success under ``params``, for kinds that judge
        freshness (the daily report marks a source stale by it); None for the others."""
        return None

    def chart_band(self, params: Any) -> ChartBand | None:
        """What a source's metric chart draws for a rule of this kind; None for nothing."""
        return None

    def threshold(self, params: Any) -> str:
        """The rule's threshold in words from its ``params`` ("over 30 %", "after 2 failures"),
        shown beside the rule's name so the name need not carry a number that goes stale when
        the rule is retuned; "" for kinds without one."""
        return ""

    def next_check(self, history: SourceHistory, params: Any, now: datetime) -> datetime | None:
        """The earliest moment this kind's judgement of ``history`` could change without new
        data (the timer pass judges the source again then: ``alerts.engine.deadlines``); None
        when only new data can change it. A moment at or before ``now`` means "every pass",
        which is what a time-based kind that cannot say gets by default."""
        return now if self.time_based else None

    def next_finding_change(
        self, history: SourceHistory, params: Any, now: datetime
    ) -> datetime | None:
        """The earliest moment whether this kind finds something for ``history`` could change
        without new data: ``next_check`` unless the kind knows better (an open finding whose
        wording moves with time, which the timer pass refreshes, may still hold until new data
        comes). The replay's clock judges the source again then."""
        return self.next_check(history, params, now)

    def next_deployment_change(
        self, history: DeploymentHistory, params: Any, now: datetime
    ) -> datetime | None:
        """The earliest moment whether this deployment kind finds something for ``history``
        could change without new data (the replay's clock judges deployments again then);
        None when only new data can change it. "Every pass" by default for a time-based kind."""
        return now if self.time_based else None

    def evaluate_source(self, history: SourceHistory, params: Any, now: datetime) -> Finding | None:
        raise NotImplementedError

    def evaluate_deployment(
        self, history: DeploymentHistory, params: Any, now: datetime
    ) -> Finding | None:
        raise NotImplementedError

    @classmethod
    def parse_params(cls, raw: dict[str, Any]) -> Params:
        """Validate raw parameters; raise ``ParamsError`` with one message per field."""
        try:
            return cls.params.model_validate(raw or {})
        except ValidationError as exc:
            raise ParamsError(
                field_messages(
                    exc.errors(),
                    whole="parameters",
                    not_a_field="is not a parameter of this rule kind",
                )
            ) from None


class ParamsError(ValueError):
    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in messages.items()))
        self.messages = messages


KINDS: dict[str, RuleKind] = {}


def register(cls: type[RuleKind]) -> type[RuleKind]:
    KINDS[cls.name] = cls()
    return cls


_loaded: list[bool] = []


def kind(name: str) -> RuleKind:
    return all_kinds()[name]


def cause_kinds() -> frozenset[str]:
    return frozenset(name for name, k in all_kinds().items() if k.cause)


def consequence_kinds() -> frozenset[str]:
    return frozenset(name for name, k in all_kinds().items() if k.consequence)


def internal_kinds() -> frozenset[str]:
    return frozenset(name for name, k in all_kinds().items() if k.internal)


def kinds_answering(hook: str) -> frozenset[str]:
    """The kinds whose class answers ``hook`` (e.g. ``"chart_band"``) with a method of its
    own: a query can then load only rules that may answer."""
    default = getattr(RuleKind, hook)
    return frozenset(
        name for name, k in all_kinds().items() if getattr(type(k), hook) is not default
    )


def all_kinds() -> dict[str, RuleKind]:
    """Every kind; the modules are imported once, whatever was imported before."""
    if not _loaded:
        load_kinds()
        _loaded.append(True)
    return KINDS


def load_kinds() -> None:
    """Import every module of ``alerts.rules`` so their ``@register`` runs."""
    import importlib
    import pkgutil

    # Lazy: every kind module imports this one, so the package can only be walked once they
    # can all be imported, at the first call.
    import alerts.rules as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"alerts.rules.{module.name}")


Evaluator = Callable[[SourceHistory, Any, datetime], Finding | None]
