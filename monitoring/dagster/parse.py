"""Turn Dagster GraphQL answers into plain typed records, or fail with a precise error.

Shapes are checked here, once, so that the sync code can trust its input: a missing key or a
wrong type raises ``DagsterMalformedResponse`` naming where it was found, and nothing is stored.
Values Dagster may grow (a new run status, a new metadata type) pass through unchanged.
A hostile or broken server is held to sane bounds here too: a name longer than its column, or
a timestamp outside 1970-2100 (``1e308`` would overflow every ``datetime`` built from it and
poison the high-water mark), is malformed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from monitoring.dagster.errors import DagsterErrorUnion, DagsterMalformedResponse

JsonObject = dict[str, Any]


def obj(value: object, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise DagsterMalformedResponse(f"{where}: expected an object, got {type(value).__name__}")
    return value


def items(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DagsterMalformedResponse(f"{where}: expected a list, got {type(value).__name__}")
    return value


# Names, keys and enum values fit a 255-character column; the few longer texts say so.
NAME_LIMIT = 255
ID_LIMIT = 100
LONG_TEXT_LIMIT = 100_000
# Epoch seconds a Dagster instance can plausibly report: 1970 up to 2100.
MAX_TIMESTAMP = 4_102_444_800.0


def text(value: object, where: str, optional: bool = False, limit: int = NAME_LIMIT) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise DagsterMalformedResponse(f"{where}: expected a string, got {value!r:.80}")
    if len(value) > limit:
        raise DagsterMalformedResponse(f"{where}: {len(value)} characters, at most {limit}")
    return value


def number(value: object, where: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DagsterMalformedResponse(f"{where}: expected a number, got {value!r:.80}")
    return float(value)


def timestamp(value: object, where: str, optional: bool = False) -> float | None:
    """Epoch seconds within 1970-2100."""
    seconds = number(value, where, optional)
    if seconds is not None and not 0 <= seconds <= MAX_TIMESTAMP:
        raise DagsterMalformedResponse(f"{where}: not a plausible time: {seconds!r:.40}")
    return seconds


def timestamp_ms(value: object, where: str) -> str:
    """Dagster's event timestamp, a string of epoch milliseconds, kept as given (a dedupe key)."""
    raw = text(value, where, limit=40)
    try:
        millis = float(raw)
    except ValueError:
        raise DagsterMalformedResponse(f"{where}: not a number: {raw!r}") from None
    timestamp(millis / 1000 if math.isfinite(millis) else millis, where)
    return raw


def union(value: object, where: str, expected: str) -> JsonObject:
    """An ``...OrError`` member: the expected type, or a typed error for an error member."""
    member = obj(value, where)
    typename = member.get("__typename")
    if typename == expected:
        return member
    if isinstance(typename, str):
        raise DagsterErrorUnion(typename, str(member.get("message", "")))
    raise DagsterMalformedResponse(f"{where}: no __typename in {member!r:.120}")


def asset_key(value: object, where: str) -> str:
    path = items(obj(value, where).get("path"), f"{where}.path")
    return "/".join(text(part, f"{where}.path[]") for part in path)


def tag_map(value: object, where: str) -> dict[str, str]:
    return {
        text(tag.get("key"), f"{where}.key", limit=LONG_TEXT_LIMIT): text(
            tag.get("value"), f"{where}.value", limit=LONG_TEXT_LIMIT
        )
        for tag in (obj(t, where) for t in items(value or [], where))
    }


def error_text(error: object) -> tuple[str, str]:
    """(class name, message) of a PythonError, preferring the user's exception in ``cause``."""
    if not isinstance(error, dict):
        return "", ""
    cause = error.get("cause")
    chosen = cause if isinstance(cause, dict) and cause.get("message") else error
    return str(chosen.get("className") or ""), str(chosen.get("message") or "").strip()


# --- Poll: version, daemons, code locations, runs ------------------------------------------


@dataclass(frozen=True)
class DaemonState:
    daemon_type: str
    required: bool
    healthy: bool
    last_heartbeat: float | None
    error: str


@dataclass(frozen=True)
class LocationState:
    name: str
    updated: float
    error: str


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job_name: str
    status: str
    creation_time: float
    start_time: float | None
    end_time: float | None
    update_time: float | None
    parent_run_id: str
    root_run_id: str
    tags: dict[str, str]
    asset_selection: tuple[str, ...] | None


@dataclass(frozen=True)
class PollAnswer:
    version: str
    daemons: list[DaemonState]
    locations: list[LocationState]
    runs: list[RunRecord]


def poll_answer(data: JsonObject) -> PollAnswer:
    return PollAnswer(
        version=text(data.get("version"), "version", limit=50),
        daemons=daemons(data.get("instance")),
        locations=locations(data.get("workspaceOrError")),
        runs=runs_page(data.get("runsOrError")),
    )


def daemons(instance: object) -> list[DaemonState]:
    health = obj(obj(instance, "instance").get("daemonHealth"), "instance.daemonHealth")
    statuses = items(health.get("allDaemonStatuses"), "daemonHealth.allDaemonStatuses")
    result = []
    for raw in statuses:
        status = obj(raw, "daemonStatus")
        errors = status.get("lastHeartbeatErrors") or []
        result.append(
            DaemonState(
                daemon_type=text(status.get("daemonType"), "daemonStatus.daemonType"),
                required=bool(status.get("required")),
                healthy=bool(status.get("healthy")),
                last_heartbeat=timestamp(status.get("lastHeartbeatTime"), "daemon heartbeat", True),
                error=error_text(errors[0])[1] if errors else "",
            )
        )
    return result


def locations(workspace: object) -> list[LocationState]:
    entries = items(
        union(workspace, "workspaceOrError", "Workspace").get("locationEntries"), "locationEntries"
    )
    result = []
    for raw in entries:
        entry = obj(raw, "locationEntry")
        loaded = entry.get("locationOrLoadError")
        # loadStatus stays LOADED after a failed load: the PythonError member is the signal.
        failed = isinstance(loaded, dict) and loaded.get("__typename") == "PythonError"
        error = " ".join(filter(None, error_text(loaded))) if failed else ""
        result.append(
            LocationState(
                name=text(entry.get("name"), "locationEntry.name"),
                updated=timestamp(entry.get("updatedTimestamp"), "updatedTimestamp") or 0.0,
                error=error or ("code location failed to load" if failed else ""),
            )
        )
    return result


def runs_page(value: object) -> list[RunRecord]:
    page = union(value, "runsOrError", "Runs")
    return [run_record(raw) for raw in items(page.get("results"), "runsOrError.results")]


def run_record(raw: object) -> RunRecord:
    run = obj(raw, "run")
    run_id = text(run.get("runId"), "run.runId", limit=ID_LIMIT)
    where = f"run {run_id}"
    selection = run.get("assetSelection")
    return RunRecord(
        run_id=run_id,
        job_name=text(run.get("jobName"), f"{where}.jobName"),
        status=text(run.get("status"), f"{where}.status", limit=20),
        creation_time=timestamp(run.get("creationTime"), f"{where}.creationTime") or 0.0,
        start_time=timestamp(run.get("startTime"), f"{where}.startTime", optional=True),
        end_time=timestamp(run.get("endTime"), f"{where}.endTime", optional=True),
        update_time=timestamp(run.get("updateTime"), f"{where}.updateTime", optional=True),
        parent_run_id=text(run.get("parentRunId"), f"{where}.parentRunId", True, ID_LIMIT),
        root_run_id=text(run.get("rootRunId"), f"{where}.rootRunId", True, ID_LIMIT),
        tags=tag_map(run.get("tags"), f"{where}.tags"),
        asset_selection=(
            None
            if selection is None
            else tuple(asset_key(key, f"{where}.assetSelection") for key in items(selection, where))
        ),
    )


# --- Run details: errors, materialisations, checks -----------------------------------------


@dataclass(frozen=True)
class StepFailure:
    step_key: str
    error_class: str
    message: str


@dataclass(frozen=True)
class AssetEventRecord:
    kind: str  # "materialization" or "observation"
    asset_key: str
    timestamp_ms: str
    step_key: str
    partition: str
    metrics: dict[str, float]
    text_metadata: dict[str, str]


@dataclass(frozen=True)
class CheckRecord:
    asset_key: str
    check_name: str
    passed: bool
    severity: str
    description: str
    evaluated_at: float
    metrics: dict[str, float]


@dataclass
class RunDetails:
    run_id: str
    status: str
    step_stats: list[JsonObject] = field(default_factory=list)
    step_failures: list[StepFailure] = field(default_factory=list)
    run_failure: StepFailure | None = None
    engine_error: StepFailure | None = None
    asset_events: list[AssetEventRecord] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    cursor: str = ""
    has_more: bool = False

    @property
    def run_error(self) -> StepFailure | None:
        """Why the run failed outside any step: the RUN_FAILURE event's own error, else the last
        engine event's error (a run dropped from the queue says only "marked as failed from
        outside the execution context" there), else the failure's message (run monitoring)."""
        if self.run_failure is not None and self.run_failure.error_class:
            return self.run_failure
        return self.engine_error or self.run_failure


TEXT_METADATA_LIMIT = 500


def run_details(data: JsonObject, details: RunDetails | None = None) -> RunDetails:
    """Parse one page of run details; pass the previous result to add a further event page."""
    run = union(data.get("runOrError"), "runOrError", "Run")
    connection = union(data.get("logsForRun"), "logsForRun", "EventConnection")
    if details is None:
        details = RunDetails(
            run_id=text(run.get("runId"), "run.runId", limit=ID_LIMIT),
            status=text(run.get("status"), "run.status", limit=20),
            step_stats=[
                obj(s, "stepStats[]") for s in items(run.get("stepStats") or [], "stepStats")
            ],
        )
    for raw in items(connection.get("events"), "logsForRun.events"):
        add_event(details, obj(raw, "event"))
    details.cursor = text(connection.get("cursor"), "logsForRun.cursor", True, LONG_TEXT_LIMIT)
    details.has_more = bool(connection.get("hasMore"))
    return details


def add_event(details: RunDetails, event: JsonObject) -> None:
    typename = event.get("__typename")
    if typename == "ExecutionStepFailureEvent":
        error_class, message = error_text(event.get("error"))
        details.step_failures.append(
            StepFailure(str(event.get("stepKey") or ""), error_class, message)
        )
    elif typename == "RunFailureEvent":
        error_class, message = error_text(event.get("error"))
        details.run_failure = StepFailure(
            "", error_class, message or str(event.get("message") or "")
        )
    elif typename == "EngineEvent" and isinstance(event.get("error"), dict):
        details.engine_error = engine_error(event)
    elif typename in ("MaterializationEvent", "ObservationEvent"):
        details.asset_events.append(asset_event(event, typename))
    elif typename == "AssetCheckEvaluationEvent":
        details.checks.append(check_record(obj(event.get("evaluation"), "check evaluation")))


def engine_error(event: JsonObject) -> StepFailure:
    """An engine event's error, then its message (what Dagster was doing when it failed). The
    error comes first because a summary shows the first line, and Dagster's message is often
    generic ("An exception was thrown during execution that is likely a framework error")."""
    error_class, message = error_text(event.get("error"))
    said = str(event.get("message") or "").strip()
    return StepFailure(
        str(event.get("stepKey") or ""),
        error_class,
        "\n".join(part for part in (message, said) if part),
    )


def asset_event(event: JsonObject, typename: str) -> AssetEventRecord:
    metrics, texts = metadata(event.get("metadataEntries") or [])
    return AssetEventRecord(
        kind="materialization" if typename == "MaterializationEvent" else "observation",
        asset_key=asset_key(event.get("assetKey"), f"{typename}.assetKey"),
        timestamp_ms=timestamp_ms(event.get("timestamp"), f"{typename}.timestamp"),
        step_key=text(event.get("stepKey"), f"{typename}.stepKey", optional=True),
        partition=text(event.get("partition"), f"{typename}.partition", optional=True),
        metrics=metrics,
        text_metadata=texts,
    )


def check_record(evaluation: JsonObject) -> CheckRecord:
    metrics, _ = metadata(evaluation.get("metadataEntries") or [])
    return CheckRecord(
        asset_key=asset_key(evaluation.get("assetKey"), "evaluation.assetKey"),
        check_name=text(evaluation.get("checkName"), "evaluation.checkName"),
        passed=bool(evaluation.get("success")),
        severity=text(evaluation.get("severity"), "evaluation.severity", limit=10),
        description=text(
            evaluation.get("description"), "evaluation.description", True, LONG_TEXT_LIMIT
        ),
        evaluated_at=timestamp(evaluation.get("timestamp"), "evaluation.timestamp") or 0.0,
        metrics=metrics,
    )


def metadata(entries: object) -> tuple[dict[str, float], dict[str, str]]:
    """Numeric entries become metrics (any key: rules may use them); short texts are kept too."""
    metrics: dict[str, float] = {}
    texts: dict[str, str] = {}
    for raw in items(entries, "metadataEntries"):
        entry = obj(raw, "metadataEntry")
        label = str(entry.get("label") or "")
        value = numeric_value(entry)
        if value is not None:
            metrics[label] = value
        elif entry.get("__typename") == "TextMetadataEntry" and isinstance(entry.get("text"), str):
            texts[label] = entry["text"][:TEXT_METADATA_LIMIT]
    return metrics, texts


def numeric_value(entry: JsonObject) -> float | None:
    typename = entry.get("__typename")
    if typename == "IntMetadataEntry":
        # intValue is a 32-bit GraphQL Int (null above it); intRepr always holds the number.
        raw = entry.get("intRepr") if entry.get("intRepr") is not None else entry.get("intValue")
        try:
            return float(int(str(raw)))
        except ValueError:
            return None
    if typename == "FloatMetadataEntry":
        value = entry.get("floatValue")
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
    if typename == "BoolMetadataEntry" and isinstance(entry.get("boolValue"), bool):
        return 1.0 if entry["boolValue"] else 0.0
    return None


# --- Discovery: assets, jobs, schedules, sensors --------------------------------------------


@dataclass(frozen=True)
class AssetDefinition:
    key: str
    code_location: str
    repository: str
    group_name: str
    description: str
    owners: list[str]
    tags: dict[str, str]
    kinds: list[str]
    op_names: list[str]
    job_names: list[str]
    partitions_definition: str
    freshness_policy: JsonObject
    upstream_keys: list[str]
    schedule_names: list[str]
    sensor_names: list[str]
    checks: list[JsonObject] = field(default_factory=list)


@dataclass(frozen=True)
class JobDefinition:
    name: str
    code_location: str
    repository: str
    description: str
    is_asset_job: bool


@dataclass(frozen=True)
class InstigatorDefinition:
    kind: str  # "schedule" or "sensor"
    name: str
    code_location: str
    repository: str
    cron: str
    timezone: str
    status: str
    target_jobs: list[str]
    min_interval_seconds: int | None
    state_id: str


@dataclass
class Discovery:
    locations: list[LocationState] = field(default_factory=list)
    loaded_locations: set[str] = field(default_factory=set)
    repositories: list[tuple[str, str]] = field(default_factory=list)
    assets: list[AssetDefinition] = field(default_factory=list)
    jobs: list[JobDefinition] = field(default_factory=list)
    instigators: list[InstigatorDefinition] = field(default_factory=list)


def discovery(data: JsonObject) -> Discovery:
    workspace = data.get("workspaceOrError")
    result = Discovery(locations=locations(workspace))
    entries = items(
        union(workspace, "workspaceOrError", "Workspace").get("locationEntries"), "entries"
    )
    for raw in entries:
        entry = obj(raw, "locationEntry")
        location = entry.get("locationOrLoadError")
        if not isinstance(location, dict) or location.get("__typename") != "RepositoryLocation":
            continue
        name = text(entry.get("name"), "locationEntry.name")
        result.loaded_locations.add(name)
        for repo in items(location.get("repositories"), f"{name}.repositories"):
            add_repository(result, name, obj(repo, f"{name}.repository"))
    return result


def add_repository(result: Discovery, location: str, repo: JsonObject) -> None:
    repository = text(repo.get("name"), f"{location}.repository.name")
    result.repositories.append((location, repository))
    for raw in items(repo.get("assetNodes"), f"{repository}.assetNodes"):
        result.assets.append(asset_definition(obj(raw, "assetNode"), location, repository))
    for raw in items(repo.get("pipelines"), f"{repository}.pipelines"):
        job = obj(raw, "pipeline")
        result.jobs.append(
            JobDefinition(
                name=text(job.get("name"), "pipeline.name"),
                code_location=location,
                repository=repository,
                description=text(
                    job.get("description"), "pipeline.description", True, LONG_TEXT_LIMIT
                ),
                is_asset_job=bool(job.get("isAssetJob")),
            )
        )
    for raw in items(repo.get("schedules"), f"{repository}.schedules"):
        result.instigators.append(schedule_definition(obj(raw, "schedule"), location, repository))
    for raw in items(repo.get("sensors"), f"{repository}.sensors"):
        result.instigators.append(sensor_definition(obj(raw, "sensor"), location, repository))


def asset_definition(node: JsonObject, location: str, repository: str) -> AssetDefinition:
    key = asset_key(node.get("assetKey"), "assetNode.assetKey")
    instigators = [
        obj(i, f"{key}.targetingInstigators")
        for i in items(node.get("targetingInstigators") or [], key)
    ]
    partitions = node.get("partitionDefinition")
    return AssetDefinition(
        key=key,
        code_location=location,
        repository=repository,
        group_name=text(node.get("groupName"), f"{key}.groupName", optional=True),
        description=text(node.get("description"), f"{key}.description", True, LONG_TEXT_LIMIT),
        owners=[owner_name(o) for o in items(node.get("owners") or [], f"{key}.owners")],
        tags=tag_map(node.get("tags"), f"{key}.tags"),
        kinds=[text(k, f"{key}.kinds[]") for k in items(node.get("kinds") or [], f"{key}.kinds")],
        op_names=[text(o, f"{key}.opNames[]") for o in items(node.get("opNames") or [], key)],
        job_names=[text(j, f"{key}.jobNames[]") for j in items(node.get("jobNames") or [], key)],
        partitions_definition=(
            text(  # a static definition lists its keys: cut, not refused
                obj(partitions, f"{key}.partitionDefinition").get("description"),
                key,
                True,
                LONG_TEXT_LIMIT,
            )[:500]
            if partitions
            else ""
        ),
        # The legacy lag policy only where no current one is declared (and the instance's
        # legacy kill switch is off: then Dagster answers null).
        freshness_policy=freshness_policy(
            node.get("internalFreshnessPolicy") or node.get("freshnessPolicy")
        ),
        upstream_keys=[
            asset_key(k, f"{key}.dependencyKeys")
            for k in items(node.get("dependencyKeys") or [], key)
        ],
        schedule_names=[
            str(i.get("name")) for i in instigators if i.get("__typename") == "Schedule"
        ],
        sensor_names=[str(i.get("name")) for i in instigators if i.get("__typename") == "Sensor"],
        checks=declared_checks(node.get("assetChecksOrError"), key),
    )


def declared_checks(raw: object, key: str) -> list[JsonObject]:
    """The checks declared on an asset, known before any runs: name, description, blocking (a
    failure stops downstream materialisations in the same run) and whether it can run alone. A
    multi-asset check appears under each asset it checks. An instance needing a migration or
    newer user code answers no checks here (their evaluations still arrive with runs)."""
    if not isinstance(raw, dict) or raw.get("__typename") != "AssetChecks":
        return []
    checks = []
    for item in items(raw.get("checks") or [], f"{key}.assetChecks"):
        check = obj(item, f"{key}.assetCheck")
        checks.append(
            {
                "name": text(check.get("name"), f"{key}.assetCheck.name"),
                "description": text(
                    check.get("description"), f"{key}.assetCheck.description", True, LONG_TEXT_LIMIT
                ),
                "blocking": bool(check.get("blocking")),
                "can_execute_individually": text(
                    check.get("canExecuteIndividually"), f"{key}.assetCheck.canExecute", True
                ),
            }
        )
    return sorted(checks, key=lambda c: c["name"])


def owner_name(raw: object) -> str:
    owner = obj(raw, "owner")
    return str(owner.get("email") or owner.get("team") or "")


def freshness_policy(raw: object) -> JsonObject:
    if not isinstance(raw, dict):
        return {}
    policy = {key: value for key, value in raw.items() if key != "__typename"}
    policy["type"] = raw.get("__typename", "")
    return policy


def schedule_definition(
    schedule: JsonObject, location: str, repository: str
) -> InstigatorDefinition:
    name = text(schedule.get("name"), "schedule.name")
    state = obj(schedule.get("scheduleState") or {}, f"schedule {name}.scheduleState")
    return InstigatorDefinition(
        kind="schedule",
        name=name,
        code_location=location,
        repository=repository,
        cron=text(schedule.get("cronSchedule"), f"schedule {name}.cronSchedule", True, 100),
        timezone=text(schedule.get("executionTimezone"), f"schedule {name}.tz", True, 64),
        status=str(state.get("status") or ""),
        target_jobs=[text(schedule.get("pipelineName"), f"schedule {name}.pipelineName", True)],
        min_interval_seconds=None,
        state_id=str(state.get("id") or ""),
    )


def sensor_definition(sensor: JsonObject, location: str, repository: str) -> InstigatorDefinition:
    name = text(sensor.get("name"), "sensor.name")
    state = obj(sensor.get("sensorState") or {}, f"sensor {name}.sensorState")
    targets = items(sensor.get("targets") or [], f"sensor {name}.targets")
    interval = number(sensor.get("minIntervalSeconds"), f"sensor {name}.interval", optional=True)
    return InstigatorDefinition(
        kind="sensor",
        name=name,
        code_location=location,
        repository=repository,
        cron="",
        timezone="",
        status=str(state.get("status") or ""),
        target_jobs=[str(obj(t, "target").get("pipelineName") or "") for t in targets],
        min_interval_seconds=int(interval) if interval is not None else None,
        state_id=str(state.get("id") or ""),
    )


# --- Ticks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickRecord:
    kind: str  # "schedule" or "sensor"
    name: str
    instigator_status: str
    tick_id: str
    status: str
    timestamp: float
    error_class: str
    error_message: str


def instigator_states(data: JsonObject) -> Iterator[tuple[str, JsonObject, JsonObject]]:
    """(kind, instigator, its state) for every schedule and sensor of a ticks answer."""
    for kind, field_name, typename, state_key in (
        ("schedule", "schedulesOrError", "Schedules", "scheduleState"),
        ("sensor", "sensorsOrError", "Sensors", "sensorState"),
    ):
        for raw in items(union(data.get(field_name), field_name, typename).get("results"), kind):
            instigator = obj(raw, kind)
            yield kind, instigator, obj(instigator.get(state_key), f"{kind}.{state_key}")


def ticks(data: JsonObject) -> list[TickRecord]:
    result: list[TickRecord] = []
    for kind, instigator, state in instigator_states(data):
        seen: set[str] = set()
        for field_name in ("latest", "failures", "ticks"):
            for tick in items(state.get(field_name) or [], f"{kind}.{field_name}"):
                record = tick_record(kind, instigator, state, obj(tick, "tick"))
                if record.tick_id not in seen:
                    seen.add(record.tick_id)
                    result.append(record)
    return result


def instigator_statuses(data: JsonObject) -> dict[tuple[str, str], str]:
    """(kind, name) -> RUNNING or STOPPED for every schedule and sensor of the ticks answer,
    ticked or not: switching one off leaves no tick to carry the news."""
    return {
        (kind, text(instigator.get("name"), f"{kind}.name")): text(
            state.get("status"), f"{kind}.status", True, limit=20
        )
        for kind, instigator, state in instigator_states(data)
    }


def tick_record(
    kind: str, instigator: JsonObject, state: JsonObject, tick: JsonObject
) -> TickRecord:
    error_class, message = error_text(tick.get("error"))
    return TickRecord(
        kind=kind,
        name=text(instigator.get("name"), f"{kind}.name"),
        instigator_status=str(state.get("status") or ""),
        tick_id=text(tick.get("tickId"), "tick.tickId", limit=ID_LIMIT),
        status=text(tick.get("status"), "tick.status", limit=20),
        timestamp=timestamp(tick.get("timestamp"), "tick.timestamp") or 0.0,
        error_class=error_class,
        error_message=message,
    )
