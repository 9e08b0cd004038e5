"""The contract between the alert engine and rule kinds.

A rule kind is a pure function of (history, parameters, now) that returns a finding or None. It
reads only the frozen snapshots below, never the database or the clock, so the same code judges
live data, replays and backtests. Parameters are pydantic models: validation messages reach the
admin and the API as they are, so they must read well ("percent: must be at most 100").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from alerts.choices import RuleTarget
from confops.common.field_errors import field_messages
from monitoring.choices import SUCCESS_OUTCOMES


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

    def successes(self) -> list[RunSample]:
        return [run for run in self.runs if run.succeeded]


@dataclass(frozen=True)
class TickSample:
    instigator: str
    kind: str  # schedule or sensor
    tick_id: str
    at: datetime
    error: str


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


class RuleKind:
    """Subclass per kind, in its own module, and register it with ``@register``."""

    name: ClassVar[str]
    label: ClassVar[str]
    target: ClassVar[str] = RuleTarget.SOURCE
    params: ClassVar[type[Params]] = Params
    # Parameters a per-source override may change (e.g. the staleness threshold).
    overridable: ClassVar[tuple[str, ...]] = ()
    # Evaluated on a timer as well as after polls (time alone can make it true).
    time_based: ClassVar[bool] = False

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

    import alerts.rules as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"alerts.rules.{module.name}")


Evaluator = Callable[[SourceHistory, Any, datetime], Finding | None]
