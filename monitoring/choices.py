"""Enumerations of what monitoring observes."""

from django.db import models


class SourceKind(models.TextChoices):
    ASSET = "asset", "Dagster asset"
    JOB = "job", "Dagster job"
    PUSHED = "pushed", "Pushed over HTTP"


class RunStatus(models.TextChoices):
    """Dagster's run statuses; pushed runs use STARTED, SUCCESS and FAILURE."""

    QUEUED = "QUEUED"
    NOT_STARTED = "NOT_STARTED"
    MANAGED = "MANAGED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"


TERMINAL_RUN_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})
# The other side, as a sorted list (an index condition must read the same in every migration).
UNFINISHED_RUN_STATUSES = sorted(set(RunStatus) - TERMINAL_RUN_STATUSES)


class RunOrigin(models.TextChoices):
    DAGSTER = "dagster", "Polled from Dagster"
    PUSHED = "pushed", "Pushed over HTTP"


class LaunchReason(models.TextChoices):
    SCHEDULE = "schedule"
    SENSOR = "sensor"
    BACKFILL = "backfill"
    RETRY = "retry", "Re-execution or retry"
    MANUAL = "manual"
    PUSHED = "pushed"


class RunAssetOutcome(models.TextChoices):
    """What a run did to one source it was meant to produce."""

    MATERIALIZED = "materialized"
    OBSERVED = "observed"
    FAILED = "failed"
    SKIPPED = "skipped", "Skipped (an upstream step failed)"
    PLANNED = "planned", "Planned (run not finished)"


# The one answer to "did this run produce the source?": an observation counts, and a run that
# failed in another step still produced what it materialised.
SUCCESS_OUTCOMES = frozenset({RunAssetOutcome.MATERIALIZED, RunAssetOutcome.OBSERVED})
# What an outcome says of its source's latest status; planned and skipped say nothing.
OUTCOME_STATUS: dict[str, str] = {
    **dict.fromkeys(SUCCESS_OUTCOMES, RunStatus.SUCCESS),
    RunAssetOutcome.FAILED: RunStatus.FAILURE,
}


class AssetEventKind(models.TextChoices):
    MATERIALIZATION = "materialization"
    OBSERVATION = "observation"


class CheckSeverity(models.TextChoices):
    WARN = "WARN"
    ERROR = "ERROR"


class InstigatorKind(models.TextChoices):
    SCHEDULE = "schedule"
    SENSOR = "sensor"


class PushStatus(models.TextChoices):
    """The outcome a job outside Dagster reports for a finished run (the replay line format)."""

    SUCCESS = "success"
    FAILURE = "failure"


class PushEvent(models.TextChoices):
    """What a pushed report says happened: a run started, or it finished one way or the other."""

    START = "start"
    SUCCESS = "success"
    FAILURE = "failure"


class HealthState(models.TextChoices):
    """How a source looks on the status page: a colour, and the shape and word beside it."""

    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"
    PAUSED = "paused"
    # Every open alert's condition has cleared; they close when their resolve hold runs out.
    RECOVERING = "recovering"


class TimelineWindow(models.TextChoices):
    """The span of the status page's run timeline (a URL parameter)."""

    HOUR = "1h", "hour"
    SIX_HOURS = "6h", "6 hours"
    DAY = "24h", "24 hours"
    WEEK = "7d", "7 days"
