"""Replay: feed a JSONL history into a throw-away database with the configured rules.

This module holds what the ``replay`` and ``backtest`` commands share, as plain functions:

- the line format (``parse_lines``): the base format of DESIGN.md, one run of one source per
  line, plus optional fields and the ``source``, ``deployment``, ``silence`` and ``check`` line
  types (docs/replay.md);
- rule specifications (``export_rules`` from the database, ``load_rules_file`` from JSON);
- the result (``ReplayResult``) and its text and JSON renderings;
- ``run_in_sandbox``: the simulation runs in a child process whose database is a new temporary
  SQLite file, so nothing of the replay can touch the configured database, its outbox or its
  cache. The child is ``manage.py replay --inner``; the simulated clock is in
  ``alerts.replay.simulation``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.conf import settings
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

from alerts.choices import ChannelKind, ScopeKind, Severity
from alerts.models import AlertRule
from alerts.rules.base import ParamsError, all_kinds, load_kinds
from confops.common.field_errors import field_messages, summary
from monitoring.push import AwareDatetime, Duration, ErrorText, MetricName, MetricValue

# The child prints its result after this line, so that stray output cannot be mistaken for it.
RESULT_MARKER = "----- confops replay result -----"
DEFAULT_STEP_SECONDS = 300
DEFAULT_TAIL_HOURS = 48.0
DEFAULT_GROUP = "default"
REPLAY_DEPLOYMENT = "replay"
# Set in the child's environment to the sandbox database; --inner refuses to run without it.
SANDBOX_ENV = "CONFOPS_REPLAY_SANDBOX"
SANDBOX_PREFIX = "confops-replay-"


class ReplayInputError(ValueError):
    """A replay file or rules file that cannot be replayed; the message names the line."""


class ReplayFailed(RuntimeError):
    """The child process that simulates failed; the message carries the end of its stderr."""


# --- Lines ------------------------------------------------------------------------------------


def _cron(value: str) -> str:
    """Five cron fields, or one of Dagster's shorthands (@daily...) as missed_schedule reads."""
    load_kinds()  # importing one kind module alone would hide the others from all_kinds()
    from alerts.rules.missed_schedule import ALIASES

    try:
        CronSim(ALIASES.get(value.strip().lower(), value), datetime.now(tz=UTC))
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
    """One finished run of one source: the base format plus run_id, will_retry, started_at."""

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


def check_references(parsed: list[Numbered], rules: Sequence[RuleSpec]) -> None:
    names = {rule.name for rule in rules}
    for item in parsed:
        line = item.line
        if isinstance(line, SilenceLine) and line.rule is not None and line.rule not in names:
            raise ReplayInputError(
                f"line {item.number}: rule {line.rule!r} is not among the replayed rules"
            )


# --- Rules ------------------------------------------------------------------------------------


class ChannelSpec(BaseModel):
    """A channel of the sandbox; the default ones are named after their kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    kind: ChannelKind
    min_severity: Severity = Severity.INFO


class OverrideSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Name
    parameters: dict[str, Any] = Field(default_factory=dict)
    enabled: StrictBool = True


ChannelRef = Name | ChannelSpec


class RuleSpec(BaseModel):
    """One rule as the replay needs it: the fields of ``AlertRule`` that judge and notify.

    ``channels`` absent means one channel of each kind (email, slack, webhook; severity info);
    a channel is named by a string (one of those, or a channel defined as an object elsewhere
    in the file) or defined by an object ``{"name", "kind", "min_severity"}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    kind: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    severity: Severity = Severity.WARNING
    enabled: StrictBool = True
    description: str = ""
    cooldown_minutes: Annotated[StrictInt, Field(ge=1, le=7 * 24 * 60)] = 30
    pending_minutes: Annotated[StrictInt, Field(ge=0)] = 0
    resolve_hold_minutes: Annotated[StrictInt, Field(ge=0)] = 0
    escalate_after_minutes: Annotated[StrictInt, Field(ge=0)] | None = None
    include_asset_jobs: StrictBool = False
    scope: ScopeKind = ScopeKind.ALL
    scope_group: str = ""
    scope_tags: dict[str, str] = Field(default_factory=dict)
    scope_sources: list[Name] = Field(default_factory=list)
    overrides: list[OverrideSpec] = Field(default_factory=list)
    channels: list[ChannelRef] | None = None
    escalation_channels: list[ChannelRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def valid_kind_and_scope(self) -> RuleSpec:
        # all_kinds() loads the kind modules only while none is registered, so one imported
        # directly elsewhere would hide the others; loading again is idempotent.
        load_kinds()
        kinds = all_kinds()
        if self.kind not in kinds:
            raise ValueError(f"kind: unknown rule kind {self.kind!r}")
        impl = kinds[self.kind]
        for label, raw in [("parameters", self.parameters)] + [
            (f"overrides[{o.source}]", {**self.parameters, **o.parameters}) for o in self.overrides
        ]:
            try:
                impl.parse_params(raw)
            except ParamsError as exc:
                raise ValueError(f"{label}: {exc}") from None
        if self.scope == ScopeKind.GROUP and not self.scope_group:
            raise ValueError("scope_group: name the group this rule covers")
        if self.scope == ScopeKind.TAGS and not self.scope_tags:
            raise ValueError("scope_tags: give at least one tag")
        return self


def default_channels() -> list[ChannelSpec]:
    return [ChannelSpec(name=str(kind), kind=kind) for kind in ChannelKind]


def validate_rules(raw: Any, origin: str = "rules file") -> list[RuleSpec]:
    """Rule objects as specs; names must be unique and channels consistent."""
    if not isinstance(raw, list):
        raise ReplayInputError(f"{origin}: must be a JSON list of rule objects")
    specs = []
    for index, item in enumerate(raw, start=1):
        label = item.get("name") if isinstance(item, dict) else None
        try:
            specs.append(RuleSpec.model_validate(item))
        except ValidationError as exc:
            named = f" ({label!r})" if label else ""
            raise ReplayInputError(
                f"{origin}: rule {index}{named}: {describe(exc, 'rule')}"
            ) from None
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ReplayInputError(f"{origin}: rule names must be unique: {', '.join(duplicates)}")
    channel_table(specs, origin)
    return [spec for spec in specs if spec.enabled]


def channel_table(specs: Sequence[RuleSpec], origin: str = "rules file") -> dict[str, ChannelSpec]:
    """Every channel the rules use, by name: the defaults, then those defined by objects."""
    table = {channel.name: channel for channel in default_channels()}
    defined: dict[str, ChannelSpec] = {}
    refs: list[ChannelRef] = []
    for spec in specs:
        refs.extend([*(spec.channels or []), *spec.escalation_channels])
    for ref in refs:
        if isinstance(ref, ChannelSpec) and defined.setdefault(ref.name, ref) != ref:
            raise ReplayInputError(f"{origin}: channel {ref.name!r} is defined differently")
    table.update(defined)
    for ref in refs:
        if isinstance(ref, str) and ref not in table:
            raise ReplayInputError(
                f"{origin}: channel {ref!r} is neither email, slack, webhook nor defined as an "
                'object {"name", "kind", "min_severity"}'
            )
    return table


def load_rules_file(path: Path) -> list[RuleSpec]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReplayInputError(f"cannot read rules file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReplayInputError(f"rules file {path} is not valid JSON: {exc}") from None
    return validate_rules(raw, origin=f"rules file {path.name}")


def rule_spec(rule: AlertRule, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stored (or unsaved) rule as a rules-file object. Its channels are left out, so the
    replay's default channels hear it; escalation channels are kept by kind."""
    saved = rule.pk is not None
    spec: dict[str, Any] = {
        "name": rule.name or f"unsaved {rule.kind} rule",
        "kind": rule.kind,
        "parameters": {**rule.parameters, **(parameters or {})},
        "severity": rule.severity,
        "cooldown_minutes": rule.cooldown_minutes,
        "pending_minutes": rule.pending_minutes,
        "resolve_hold_minutes": rule.resolve_hold_minutes,
        "escalate_after_minutes": rule.escalate_after_minutes,
        "include_asset_jobs": rule.include_asset_jobs,
        "scope": rule.scope,
        "scope_group": rule.scope_group,
        "scope_tags": rule.scope_tags or {},
        "scope_sources": sorted(s.key for s in rule.scope_sources.all()) if saved else [],
        "overrides": [
            {"source": o.source.key, "parameters": o.parameters, "enabled": o.enabled}
            for o in rule.overrides.select_related("source")
        ]
        if saved
        else [],
        "escalation_channels": sorted({c.kind for c in rule.escalation_channels.all()})
        if saved
        else [],
    }
    return spec


def export_rules(rules: Iterable[AlertRule] | None = None) -> list[dict[str, Any]]:
    """Every enabled rule of the database (or the given ones) as rules-file objects."""
    if rules is None:
        rules = AlertRule.objects.filter(enabled=True).prefetch_related(
            "scope_sources", "escalation_channels"
        )
    return [rule_spec(rule) for rule in rules]


# --- Result -----------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the replay file writes times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class AlertRow:
    rule: str
    kind: str
    source: str  # the source key, or the deployment name for deployment alerts
    severity: str
    fired_at: str
    resolved_at: str | None


@dataclass(frozen=True)
class NotificationRow:
    rule: str
    sources: list[str]
    event: str
    channel: str
    at: str


@dataclass
class ReplayResult:
    """What would have fired and been sent; ``stats`` says what was simulated."""

    alerts: list[AlertRow] = field(default_factory=list)
    notifications: list[NotificationRow] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Exactly the documented output of ``replay --json``."""
        return {
            "alerts": [asdict(row) for row in self.alerts],
            "notifications": [asdict(row) for row in self.notifications],
        }

    def to_wire(self) -> str:
        return json.dumps({**self.to_json(), "stats": self.stats})

    @classmethod
    def from_wire(cls, text: str) -> ReplayResult:
        data = json.loads(text)
        return cls(
            alerts=[AlertRow(**row) for row in data["alerts"]],
            notifications=[NotificationRow(**row) for row in data["notifications"]],
            stats=data.get("stats", {}),
        )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    padded = [
        [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        for row in [headers, *rows]
    ]
    return [("  " + "  ".join(cells)).rstrip() for cells in padded]


def short(moment: str | None) -> str:
    """2026-11-01T02:00:00Z as 2026-11-01 02:00:00 for tables; None as a dash."""
    return moment.replace("T", " ").removesuffix("Z") if moment else "-"


def notified(alert: AlertRow, notifications: Sequence[NotificationRow]) -> bool:
    """Whether a message of its rule named its subject while it was open: an alert held back
    by a silence, an outage or an upstream cause all its life was recorded but never sent."""
    end = alert.resolved_at or "9999"
    return any(
        n.rule == alert.rule and alert.source in n.sources and alert.fired_at <= n.at <= end
        for n in notifications
    )


def render_text(result: ReplayResult) -> str:
    stats = result.stats
    out = [
        f"Replayed {stats.get('lines', 0)} lines ({stats.get('sources', 0)} sources, "
        f"{stats.get('rules', 0)} rules) from {short(stats.get('start'))} to "
        f"{short(stats.get('end'))} UTC in steps of {stats.get('step_s', '?')} s: "
        f"{stats.get('steps', 0)} steps, {stats.get('evaluations', 0)} full evaluations, "
        f"{stats.get('seconds', 0)} s.",
        "",
        f"Alerts that fired: {len(result.alerts)}",
    ]
    if result.alerts:
        out += table(
            ["RULE", "KIND", "SOURCE", "SEVERITY", "FIRED", "RESOLVED", "NOTIFIED"],
            [
                [
                    a.rule,
                    a.kind,
                    a.source,
                    a.severity,
                    short(a.fired_at),
                    short(a.resolved_at),
                    "yes" if notified(a, result.notifications) else "no (held back)",
                ]
                for a in result.alerts
            ],
        )
    out += ["", f"Notifications: {len(result.notifications)}"]
    if result.notifications:
        out += table(
            ["AT", "EVENT", "RULE", "SOURCES", "CHANNEL"],
            [
                [short(n.at), n.event, n.rule, ", ".join(n.sources), n.channel]
                for n in result.notifications
            ],
        )
    return "\n".join(out) + "\n"


# --- The sandbox ------------------------------------------------------------------------------


def sandbox_env(folder: Path, database: Path) -> dict[str, str]:
    """The child's environment: a new SQLite file, a private cache and data folder, no broker.

    Variables set here win over a .env file (django-environ never overwrites the environment).
    """
    env = {k: v for k, v in os.environ.items() if k != "CELERY_TASK_ALWAYS_EAGER"}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "CACHE_URL": "locmemcache://",
            "CONFOPS_DATA_DIR": str(folder / "data"),
            "CELERY_BROKER_URL": "memory://",
            "DJANGO_SETTINGS_MODULE": "confops.settings",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
            SANDBOX_ENV: str(database),
        }
    )
    return env


def run_in_sandbox(
    replay_file: Path,
    rules: Sequence[dict[str, Any]],
    step_s: int = DEFAULT_STEP_SECONDS,
    tail_hours: float = DEFAULT_TAIL_HOURS,
    until: datetime | None = None,
) -> ReplayResult:
    """Simulate in a child process on a throw-away database and return what it printed."""
    with tempfile.TemporaryDirectory(prefix=SANDBOX_PREFIX) as tmp:
        folder = Path(tmp)
        rules_file = folder / "rules.json"
        rules_file.write_text(json.dumps(list(rules)), encoding="utf-8")
        database = folder / "replay.sqlite3"
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "replay",
            "--inner",
            str(replay_file.resolve()),
            "--rules",
            str(rules_file),
            "--step",
            str(step_s),
            "--tail",
            str(tail_hours),
        ]
        if until is not None:
            command += ["--until", until.astimezone(UTC).isoformat()]
        template = migrated_template()
        if template.is_file():
            shutil.copyfile(template, database)
        else:
            command += ["--save-template", str(template)]
        done = subprocess.run(  # our own interpreter and manage.py, no shell
            command,
            env=sandbox_env(folder, database),
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
    return result_of(done)


_templates: dict[str, Path] = {}
_templates_lock = threading.Lock()


def migrated_template() -> Path:
    """Where this process keeps a freshly migrated sandbox database.

    Most of a child's start-up is ``migrate`` rendering some fifty migrations (1.5 s); the
    first child of a process saves its database right after migrating, later children start
    from a copy, and their ``migrate`` has nothing left to apply. The copy lives as long as
    this process, whose code (and so whose migrations) cannot change meanwhile.
    """
    with _templates_lock:
        if "path" not in _templates:
            folder = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}template-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _templates["path"] = folder / "migrated.sqlite3"
        return _templates["path"]


def result_of(done: subprocess.CompletedProcess[str]) -> ReplayResult:
    if done.returncode == 2:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "invalid input"
        raise ReplayInputError(last.removeprefix("CommandError: "))
    marker = done.stdout.rfind(RESULT_MARKER)
    if done.returncode != 0 or marker < 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise ReplayFailed(f"the replay process failed (exit {done.returncode}):\n{tail}")
    return ReplayResult.from_wire(done.stdout[marker + len(RESULT_MARKER) :].strip())
