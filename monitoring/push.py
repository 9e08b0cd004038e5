"""Runs reported over HTTP by jobs that do not run in Dagster (a Temporal workflow, a scraper).

A report is one line of the replay format (`at`, `status`, `duration_s`, `metrics`, `error`)
plus an optional `run_id`, which makes retries idempotent, and an optional `event`: `start`
reports a run that began, so one that never finishes can be caught. `record_pushed_run` stores a
report; the API view only authenticates, finds the source and maps the exceptions below to
status codes.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.db import transaction
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from monitoring import signals
from monitoring.choices import (
    AssetEventKind,
    LaunchReason,
    PushEvent,
    PushStatus,
    RunAssetOutcome,
    RunOrigin,
    RunStatus,
    SourceKind,
)
from monitoring.models import LATEST_STATE_FIELDS, AssetEvent, Outcome, Run, Source
from monitoring.volume import METRIC_NAME_HINT, METRIC_NAME_PATTERN

RUN_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
MAX_METRICS = 50
MAX_ERROR_CHARS = 10_000
# A run can take long, but not longer than this; it also keeps `at - duration_s` computable.
MAX_DURATION_S = 366 * 24 * 3600
# Clocks drift: `at` may be this far ahead of ours before we call it a mistake.
MAX_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_AT = datetime(1970, 1, 1, tzinfo=UTC)

OUTCOMES = {
    PushEvent.START: RunAssetOutcome.PLANNED,
    PushEvent.SUCCESS: RunAssetOutcome.MATERIALIZED,
    PushEvent.FAILURE: RunAssetOutcome.FAILED,
}
TERMINAL_STATUSES = {PushEvent.SUCCESS: RunStatus.SUCCESS, PushEvent.FAILURE: RunStatus.FAILURE}


class PushRejected(Exception):
    """A report that is not stored; nothing of it was written."""


class InvalidReport(PushRejected):
    """The report contradicts itself or the clock; `fields` maps each field to its problem."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in fields.items()))
        self.fields = fields


class UnknownSource(PushRejected):
    """No pushed source has this slug."""


class RunConflict(PushRejected):
    """The run already finished with another outcome; an outcome never changes."""


def _iso_datetime(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise PydanticCustomError(
            "iso_datetime", "must be an ISO 8601 date and time, e.g. 2026-11-01T02:00:00Z"
        )
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "timezone", "needs a time zone: end it with Z (UTC) or an offset such as +02:00"
        )
    return value


def _number(value: Any) -> Any:
    """JSON numbers only: no booleans, no numeric strings, nothing a float cannot hold."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number", "must be a number")
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise PydanticCustomError("finite_number", "must be a finite number (not NaN or infinity)")
    return value


def _duration(value: float) -> float:
    if value < 0:
        raise PydanticCustomError("duration", "must be zero or more seconds")
    if value > MAX_DURATION_S:
        raise PydanticCustomError("duration", f"must be at most {MAX_DURATION_S} seconds")
    return value


def _matches(pattern: str, message: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("pattern", message)
        return value

    return AfterValidator(check)


def _error_text(value: str) -> str:
    if len(value) > MAX_ERROR_CHARS:
        raise PydanticCustomError(
            "too_long",
            f"must be at most {MAX_ERROR_CHARS:,} characters (got {len(value):,}): "
            "send the message and the end of the traceback",
        )
    return value


AwareDatetime = Annotated[
    datetime,
    BeforeValidator(_iso_datetime),
    AfterValidator(_aware),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
RunId = Annotated[
    str,
    _matches(RUN_ID_PATTERN, "must be 1 to 100 characters: letters, digits and . _ : -"),
    WithJsonSchema({"type": "string", "pattern": RUN_ID_PATTERN}),
]
MetricName = Annotated[
    str,
    _matches(METRIC_NAME_PATTERN, f"names are 1 to 100 characters: {METRIC_NAME_HINT}"),
    WithJsonSchema({"type": "string", "pattern": METRIC_NAME_PATTERN}),
]
MetricValue = Annotated[int | float, BeforeValidator(_number), WithJsonSchema({"type": "number"})]
Duration = Annotated[
    float,
    BeforeValidator(_number),
    AfterValidator(_duration),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_DURATION_S}),
]
ErrorText = Annotated[
    str,
    AfterValidator(_error_text),
    WithJsonSchema({"type": "string", "maxLength": MAX_ERROR_CHARS}),
]


class PushedRunReport(BaseModel):
    """One report about one run of a pushed source: a replay line plus `run_id` and `event`."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime = Field(
        description="ISO 8601 with a zone: the run's end time, or its start time for `start`.",
        examples=["2026-11-01T02:00:00Z"],
    )
    status: PushStatus | None = Field(
        None, description="`success` or `failure`; required unless `event` is given."
    )
    event: PushEvent | None = Field(
        None, description="`start`, `success` or `failure`; defaults to `status`."
    )
    run_id: RunId | None = Field(
        None,
        description="Your id for the run; repeating a report with it changes nothing. "
        "Without it every report is a new run.",
        examples=["nightly-2026-11-01"],
    )
    started_at: AwareDatetime | None = Field(
        None, description="Start time of a finished run; defaults to `at - duration_s`."
    )
    duration_s: Duration | None = Field(None, description="Seconds the run took.")
    metrics: Annotated[dict[MetricName, MetricValue], Field(max_length=MAX_METRICS)] = Field(
        default_factory=dict,
        description=f"Up to {MAX_METRICS} numbers, such as `count`, kept with a finished run.",
        examples=[{"count": 1234}],
    )
    error: ErrorText | None = Field(None, description="What went wrong; only with a failure.")

    @property
    def resolved_event(self) -> PushEvent:
        """`event` as given, else the one `status` implies (the replay format has no event)."""
        if self.event is not None:
            return self.event
        return PushEvent(self.status or PushStatus.SUCCESS)


def report_problems(report: PushedRunReport, now: datetime) -> dict[str, str]:
    """What pydantic cannot see field by field: combinations of fields, and the clock."""
    problems = _event_problems(report)
    if report.at > now + MAX_CLOCK_SKEW:
        problems["at"] = (
            f"is more than {MAX_CLOCK_SKEW.seconds // 60} minutes in the future "
            f"(server time {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}): check the job's clock"
        )
    elif report.at < EARLIEST_AT:
        problems["at"] = "must not be before 1970"
    if report.started_at is not None:
        if report.started_at > report.at:
            problems["started_at"] = "must not be after at"
        elif report.started_at < EARLIEST_AT:
            problems["started_at"] = "must not be before 1970"
        elif (report.at - report.started_at).total_seconds() > MAX_DURATION_S:
            problems["started_at"] = f"makes the run longer than {MAX_DURATION_S} seconds"
    return problems


def _event_problems(report: PushedRunReport) -> dict[str, str]:
    if report.event is None:
        if report.status is None:
            return {"status": "is required (success or failure) unless event is given"}
    elif report.event == PushEvent.START:
        unexpected = {
            "status": report.status is not None,
            "started_at": report.started_at is not None,
            "duration_s": report.duration_s is not None,
            "metrics": bool(report.metrics),
        }
        problems = {
            name: "is not accepted with event start (send it when the run finishes)"
            for name, present in unexpected.items()
            if present
        }
        if problems:
            return problems
    elif report.status is not None and report.status != report.event:
        return {"status": f"contradicts event {report.event} (leave one of them out)"}
    if report.error and report.resolved_event != PushEvent.FAILURE:
        return {"error": "is only accepted when the run failed"}
    return {}


def find_pushed_source(slug: str) -> Source:
    source = Source.objects.filter(slug=slug).first()
    if source is None:
        raise UnknownSource(f"no source with slug '{slug}'")
    if source.kind != SourceKind.PUSHED or source.deployment_id is not None:
        raise UnknownSource(
            f"source '{slug}' is observed in Dagster, not pushed: create a pushed source for "
            "jobs outside Dagster"
        )
    return source


def record_pushed_run(source: Source, report: PushedRunReport, now: datetime) -> tuple[Run, bool]:
    """Store one report in one transaction; return the run and whether this report created it.

    Raises `InvalidReport` or `RunConflict` before anything is written. Repeating a report with
    the same `run_id` changes nothing, and so does a `start` that arrives after the run's end.
    """
    problems = report_problems(report, now)
    if problems:
        raise InvalidReport(problems)
    event = report.resolved_event
    run_id = report.run_id or uuid.uuid4().hex
    with transaction.atomic():
        # Locking the source serialises the pushes for it: two reports of one new run_id cannot
        # both create it, and the latest-state fields are never written from a stale copy.
        locked = Source.objects.select_for_update().get(pk=source.pk)
        run = Run.objects.filter(pushed_source=locked, run_id=run_id).first()
        if run is not None and not _advance(run, report, event):
            return run, False
        created = run is None
        if run is None:
            run = _new_run(locked, run_id, report, event)
        _record_outcome(locked, run, report, event)
        # After commit: the alert engine reads what this transaction stored.
        transaction.on_commit(
            lambda: signals.sources_touched.send(
                sender=Source, deployment=None, source_ids={source.pk}, now=now
            )
        )
    source.refresh_from_db(fields=LATEST_STATE_FIELDS)
    return run, created


def _new_run(source: Source, run_id: str, report: PushedRunReport, event: PushEvent) -> Run:
    run = Run(
        origin=RunOrigin.PUSHED,
        pushed_source=source,
        deployment=None,
        run_id=run_id,
        job_name=source.key,
        launch_reason=LaunchReason.PUSHED,
        details_fetched=True,
        status=RunStatus.STARTED,
        started_at=report.at,
    )
    if event != PushEvent.START:
        run.started_at = None
        _finish(run, report, TERMINAL_STATUSES[event])
    run.created_at = run.started_at or report.at
    run.save()
    return run


def _advance(run: Run, report: PushedRunReport, event: PushEvent) -> bool:
    """Apply a report to a stored run; False when there is nothing to record (a replay)."""
    if event == PushEvent.START:
        if run.status == RunStatus.STARTED and run.started_at != report.at:
            # The job restarted the run under the same id: the latest start counts.
            run.started_at = run.created_at = report.at
            run.save(update_fields=["started_at", "created_at", "updated_at"])
        return False
    status = TERMINAL_STATUSES[event]
    if run.status == status:
        return False
    if run.status != RunStatus.STARTED:
        raise RunConflict(
            f"run '{run.run_id}' already finished with {run.status.lower()}; "
            f"a {event} report cannot change that"
        )
    _finish(run, report, status)
    run.save()
    return True


def _finish(run: Run, report: PushedRunReport, status: RunStatus) -> None:
    """End time, start time (given, else reported by `start`, else at - duration), error."""
    run.status = status
    run.ended_at = report.at
    if report.started_at is not None:
        run.started_at = report.started_at
    elif run.started_at is None and report.duration_s is not None:
        run.started_at = report.at - timedelta(seconds=report.duration_s)
    run.duration_s = report.duration_s
    if run.duration_s is None and run.started_at is not None:
        run.duration_s = max((report.at - run.started_at).total_seconds(), 0.0)
    run.error_message = (report.error or "") if status == RunStatus.FAILURE else ""


def _record_outcome(source: Source, run: Run, report: PushedRunReport, event: PushEvent) -> None:
    """What the run did to its source, its metrics, and the source's latest state."""
    metrics: dict[str, float] = dict(report.metrics)
    run.record_outcomes({source: Outcome(OUTCOMES[event], metrics)}, at=report.at)
    if event == PushEvent.SUCCESS or (event == PushEvent.FAILURE and metrics):
        # A success is a materialisation even without numbers; a failure only carries the
        # numbers it reported. One per run: the unique key is (source, run id, kind, "").
        AssetEvent.objects.create(
            source=source,
            run=run,
            dagster_run_id=run.run_id,
            kind=AssetEventKind.MATERIALIZATION,
            dagster_timestamp="",
            timestamp=report.at,
            metrics=metrics,
        )
