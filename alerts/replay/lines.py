"""The replay's line format: one JSON object per line of a JSONL file (docs/replay.md).

The base format of DESIGN.md is one finished run of one source per line (``RunLine``); the
``source``, ``deployment``, ``silence`` and ``check`` line types declare sources and add events.
``parse_lines`` checks each line on its own, then what only the whole file can tell.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from confops.common.field_errors import field_messages, summary
from monitoring.cadence import CRON_ALIASES
from monitoring.push import AwareDatetime, Duration, ErrorText, MetricName, MetricValue

# The group of a source whose lines name none.
DEFAULT_GROUP = "default"


class ReplayInputError(ValueError):
    """A replay file or rules file that cannot be replayed; the message names the line."""


def _cron(value: str) -> str:
    """Five cron fields, or one of Dagster's shorthands (@daily...) as missed_schedule reads."""
    try:
        CronSim(CRON_ALIASES.get(value.strip().lower(), value), datetime.now(tz=UTC))
    except CronSimError as exc:
        raise ValueError(f"'{value}' is not a valid cron expression: {exc}") from None
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a known time zone (e.g. UTC, Europe/Paris)") from None
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
RunKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Moment = Annotated[AwareDatetime, AfterValidator(_utc)]
Cron = Annotated[str, AfterValidator(_cron)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


class Line(BaseModel):
    """Fields shared by every line type; unknown fields are refused, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RunLine(Line):
    """One finished run of one source: the base format plus run_id, will_retry, started_at and
    partition (Dagster's partition key; absent for an unpartitioned run)."""

    type: Literal["run"] = "run"
    at: Moment
    source: Name
    status: Literal["success", "failure"]
    duration_s: Duration | None = None
    metrics: dict[MetricName, MetricValue] = Field(default_factory=dict)
    error: ErrorText | None = None
    run_id: RunKey | None = None
    will_retry: StrictBool = False
    started_at: Moment | None = None
    group: Name | None = None
    partition: Name | None = None

    @model_validator(mode="after")
    def consistent(self) -> RunLine:
        if self.started_at is not None and self.started_at > self.at:
            raise ValueError("started_at must not be after at")
        if self.will_retry and self.status != "failure":
            raise ValueError("will_retry is only meaningful with status failure")
        return self


class SourceLine(Line):
    """A declaration: group, tags, upstream sources and an expected schedule of a source."""

    type: Literal["source"]
    source: Name
    upstream: list[Name] = Field(default_factory=list)
    group: Name | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    schedule: Cron | None = None
    timezone: TimeZone = "UTC"
    schedule_name: Name | None = None

    @model_validator(mode="after")
    def consistent(self) -> SourceLine:
        if self.source in self.upstream:
            raise ValueError("a source cannot be its own upstream")
        if self.schedule_name is not None and self.schedule is None:
            raise ValueError("schedule_name needs a schedule")
        return self

    @property
    def instigator_name(self) -> str:
        return self.schedule_name or f"{self.source}_schedule"


class DeploymentLine(Line):
    """The replay deployment becomes unreachable (a failed poll) or reachable again."""

    type: Literal["deployment"]
    at: Moment
    reachable: StrictBool
    error: str = ""


class SilenceLine(Line):
    """A one-off silence, or a recurring maintenance window when ``cron`` is given."""

    type: Literal["silence"]
    start: Moment
    end: Moment | None = None
    source: Name | None = None
    group: Name | None = None
    rule: Name | None = None
    comment: str = "silence from the replay file"
    cron: Cron | None = None
    timezone: TimeZone = "UTC"
    duration_minutes: Annotated[StrictInt, Field(gt=0)] | None = None
    catch_up_minutes: Annotated[StrictInt, Field(ge=0)] = 0

    @model_validator(mode="after")
    def consistent(self) -> SilenceLine:
        if self.cron is not None and self.duration_minutes is None:
            raise ValueError("a recurring window (cron) needs duration_minutes")
        if self.cron is None and self.end is None:
            raise ValueError("give an end (or a cron and duration_minutes)")
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.comment.strip():
            raise ValueError("comment: say why alerts are silenced")
        return self


class CheckLine(Line):
    """One evaluation of a Dagster asset check."""

    type: Literal["check"]
    at: Moment
    source: Name
    check: Name
    passed: StrictBool
    severity: Literal["ERROR", "WARN"] = "ERROR"
    description: str = ""
    run_id: RunKey | None = None
    group: Name | None = None


AnyLine = RunLine | SourceLine | DeploymentLine | SilenceLine | CheckLine
LINE_TYPES: dict[str, type[AnyLine]] = {
    "run": RunLine,
    "source": SourceLine,
    "deployment": DeploymentLine,
    "silence": SilenceLine,
    "check": CheckLine,
}


@dataclass(frozen=True)
class Numbered:
    """A parsed line with its line number in the file (1-based), for messages."""

    number: int
    line: AnyLine


def parse_line(text: str, number: int) -> Numbered:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayInputError(f"line {number}: not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ReplayInputError(f"line {number}: must be a JSON object, not {type(raw).__name__}")
    kind = raw.get("type", "run")
    model = LINE_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(LINE_TYPES)
        raise ReplayInputError(f"line {number}: unknown type {kind!r} (expected one of {known})")
    try:
        return Numbered(number, model.model_validate(raw))
    except ValidationError as exc:
        raise ReplayInputError(f"line {number}: {describe(exc, kind)}") from None


def describe(exc: ValidationError, kind: str) -> str:
    """Pydantic's errors as 'field: problem; field: problem'."""
    return summary(
        field_messages(exc.errors(), whole="", not_a_field=f"is not a field of a {kind} line")
    )


def parse_lines(texts: Iterable[str]) -> list[Numbered]:
    """Parse a JSONL replay file's lines (blank lines are skipped) and check them together."""
    parsed = [
        parse_line(text, number) for number, text in enumerate(texts, start=1) if text.strip()
    ]
    check_together(parsed)
    return parsed


def read_lines(path: Path) -> list[Numbered]:
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_lines(handle)
    except OSError as exc:
        raise ReplayInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ReplayInputError(f"{path} is not UTF-8 text: {exc.reason}") from None


def check_together(parsed: list[Numbered]) -> None:
    """What no single line can tell: conflicting groups, schedules and run ids; no events."""
    if not any(is_timed(item.line) for item in parsed):
        raise ReplayInputError("nothing to replay: the file has no run, check or deployment line")
    check_groups(parsed)
    check_schedules(parsed)
    check_run_ids(parsed)


def check_groups(parsed: list[Numbered]) -> None:
    groups: dict[str, str] = {}
    for item in parsed:
        line = item.line
        if not isinstance(line, RunLine | SourceLine | CheckLine) or line.group is None:
            continue  # a silence's group is a matcher, not the group of its source
        if groups.setdefault(line.source, line.group) != line.group:
            raise ReplayInputError(
                f"line {item.number}: group {line.group!r} contradicts group "
                f"{groups[line.source]!r} given earlier for {line.source}"
            )


def check_schedules(parsed: list[Numbered]) -> None:
    schedules: dict[str, tuple[str, str]] = {}
    for item in parsed:
        line = item.line
        if not isinstance(line, SourceLine) or line.schedule is None:
            continue
        name, given = line.instigator_name, (line.schedule, line.timezone)
        if schedules.setdefault(name, given) != given:
            raise ReplayInputError(
                f"line {item.number}: schedule {name!r} was declared earlier with cron "
                f"{schedules[name][0]!r}: give this one another schedule_name"
            )


def check_run_ids(parsed: list[Numbered]) -> None:
    """A run has one outcome per source: one line per (run_id, source)."""
    seen: set[tuple[str, str]] = set()
    for item in parsed:
        line = item.line
        if not isinstance(line, RunLine) or line.run_id is None:
            continue
        if (line.run_id, line.source) in seen:
            raise ReplayInputError(
                f"line {item.number}: run_id {line.run_id!r} already has a line for {line.source}"
            )
        seen.add((line.run_id, line.source))


def is_timed(line: AnyLine) -> bool:
    """Run, check and deployment lines happen at ``at``; the others are declarations."""
    return isinstance(line, RunLine | CheckLine | DeploymentLine)
