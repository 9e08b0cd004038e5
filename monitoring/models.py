"""What confops observes: Dagster deployments, their sources, runs, events, checks and ticks.
(The tokens that let jobs outside Dagster push their runs are confops.accounts'.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from confops.common.prepared import insert_many, update_many
from confops.common.secrets import RedactsItsSecrets, mask_secret, without_userinfo
from monitoring.choices import (
    OUTCOME_STATUS,
    UNFINISHED_RUN_STATUSES,
    AssetEventKind,
    CheckSeverity,
    InstigatorKind,
    LaunchReason,
    RunAssetOutcome,
    RunOrigin,
    RunStatus,
    SourceKind,
)
from monitoring.daemons import down_daemons
from monitoring.validators import validate_cron, validate_timezone
from monitoring.volume import fold_metric_keys, validate_metric_name

# A failing deployment is polled less often, up to this, so an outage does not become a storm.
MAX_POLL_BACKOFF_SECONDS = 300
# Beat starts polls on a 1 s tick, and a poll stamps its next time from its own start, a few ms
# after the tick that claimed it; without slack every 2 s interval slipped to the tick after,
# so deployments were polled every 3 s (docs/performance.md: alert latency). A poll is due from
# half a tick before its time.
POLL_DUE_SLACK = timedelta(milliseconds=500)


class Deployment(RedactsItsSecrets, models.Model):
    """One Dagster instance watched through its GraphQL API, with the outcome of its polls."""

    name = models.CharField(max_length=100, unique=True)
    graphql_url = models.URLField("GraphQL URL", max_length=500)
    ui_url = models.URLField(
        "UI base URL", max_length=500, blank=True, help_text="Base of links to runs in Dagster."
    )
    auth_header_name = models.CharField(max_length=100, blank=True, default="Authorization")
    auth_header_value = models.CharField(
        max_length=2000, blank=True, help_text="Secret; stored as given, never shown in full."
    )
    # 2 s: an idle poll is one small request (tens of ms), and the interval is most of the
    # failure-to-alert latency budget (see docs/performance.md).
    poll_interval_seconds = models.PositiveIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    enabled = models.BooleanField(default=True)

    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_duration_ms = models.FloatField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    dagster_version = models.CharField(max_length=50, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_stats = models.JSONField(default=dict, blank=True)

    # Incremental state. The runs high-water mark is Dagster's run updateTime (float seconds);
    # it only advances in the transaction that stored the runs it covers.
    runs_high_water_mark = models.FloatField(null=True, blank=True)
    ticks_high_water_mark = models.FloatField(null=True, blank=True)
    ticks_polled_at = models.DateTimeField(null=True, blank=True)
    discovered_at = models.DateTimeField(null=True, blank=True)
    workspace_fingerprint = models.CharField(max_length=64, blank=True)
    daemon_health = models.JSONField(default=dict, blank=True)
    code_location_errors = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_auth_header_value(self) -> str:
        return mask_secret(self.auth_header_value)

    @property
    def display_url(self) -> str:
        """The GraphQL URL as every page, health answer, log line and message shows it: a
        ``user:password@`` in it is for requests to send as basic auth, never to show."""
        return without_userinfo(self.graphql_url)

    def secret_values(self) -> list[str]:
        """What an error text about this deployment must never carry: the auth header value
        (and its token after a scheme such as ``Bearer``) and the URL's password."""
        found = [self.auth_header_value, *self.auth_header_value.split()[-1:]]
        try:
            password = urlsplit(self.graphql_url).password or ""
        except ValueError:
            password = ""
        return [value for value in (*found, password, unquote(password)) if value]

    def redact(self, text: str) -> str:
        """An error text safe to store and show: secrets masked, URLs cut to their host, and
        what no database column takes (a lone surrogate, a NUL from a hostile answer) escaped."""
        safe = super().redact(text).replace("\x00", "\\x00")
        return safe.encode("utf-8", "backslashreplace").decode("utf-8")

    def request_headers(self) -> dict[str, str]:
        if self.auth_header_name and self.auth_header_value:
            return {self.auth_header_name: self.auth_header_value}
        return {}

    def is_due(self, now: datetime) -> bool:
        if not self.enabled:
            return False
        if self.next_poll_at is not None:
            return now >= self.next_poll_at - POLL_DUE_SLACK
        if self.last_poll_at is None:
            return True
        interval = timedelta(seconds=self.poll_interval_seconds)
        return now - self.last_poll_at >= interval - POLL_DUE_SLACK

    def backoff_seconds(self) -> float:
        """Doubles with each consecutive failure, from the poll interval up to five minutes."""
        exponent = max(self.consecutive_failures - 1, 0)
        return float(
            min(self.poll_interval_seconds * 2 ** min(exponent, 16), MAX_POLL_BACKOFF_SECONDS)
        )

    @property
    def unhealthy_daemons(self) -> list[str]:
        """Required daemons down at the last poll: Dagster's flag or a silent heartbeat (the
        judgement the ``deployment_unhealthy`` rule makes, so the grid and the alert agree)."""
        return down_daemons(
            self.daemon_health, self.last_success_at, polls_failing=self.failing_since is not None
        )

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}" if self.ui_url else ""

    @property
    def is_reachable(self) -> bool:
        return self.last_success_at is not None and self.consecutive_failures == 0

    def record_poll_success(
        self,
        now: datetime,
        duration_ms: float,
        version: str = "",
        stats: dict[str, Any] | None = None,
    ) -> None:
        self.last_poll_at = now
        self.next_poll_at = now + timedelta(seconds=self.poll_interval_seconds)
        self.last_poll_stats = stats or {}
        self.last_poll_duration_ms = duration_ms
        self.last_success_at = now
        self.last_error = ""
        self.failing_since = None
        self.consecutive_failures = 0
        if version:
            self.dagster_version = version
        self.save(
            update_fields=[
                "last_poll_at",
                "last_poll_duration_ms",
                "last_success_at",
                "last_error",
                "failing_since",
                "consecutive_failures",
                "dagster_version",
                "next_poll_at",
                "last_poll_stats",
                "daemon_health",
                "code_location_errors",
                "updated_at",
            ]
        )

    def record_poll_failure(
        self,
        error: str,
        now: datetime,
        duration_ms: float,
        stats: dict[str, Any] | None = None,
    ) -> None:
        self.last_poll_at = now
        self.last_poll_duration_ms = duration_ms
        self.last_error = self.redact(error)[:4000]
        if self.failing_since is None:
            self.failing_since = now
        self.consecutive_failures += 1
        self.next_poll_at = now + timedelta(seconds=self.backoff_seconds())
        self.last_poll_stats = stats or {}
        self.save(
            update_fields=[
                "last_poll_at",
                "last_poll_duration_ms",
                "last_error",
                "failing_since",
                "consecutive_failures",
                "next_poll_at",
                "last_poll_stats",
                "daemon_health",
                "code_location_errors",
                "updated_at",
            ]
        )


class PollRecord(models.Model):
    """One poll: when, how long, what it fetched, and its error (for status pages and metrics)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="polls")
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    ok = models.BooleanField()
    error = models.TextField(blank=True)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["deployment", "-started_at"]),
            # The hourly prune's range (alerts/retention.py).
            models.Index(fields=["started_at"], name="poll_record_started"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.ok else "failed"
        return f"{self.deployment} at {self.started_at:%Y-%m-%d %H:%M:%S} ({outcome})"


# What operators set on a source (in the admin or through the API); discovery owns the rest.
SOURCE_OPERATOR_FIELDS = (
    "owner",
    "runbook_slug",
    "notes",
    "paused",
    "expected_cron",
    "expected_cron_timezone",
    "volume_metric",
)


# Run ids per query when reading back the ids of runs just inserted (SQLite caps parameters).
IDS_PER_QUERY = 5000

# A source's latest state, written by Run.record_outcomes.
LATEST_STATE_FIELDS = [
    "last_run_at",
    "last_status",
    "last_success_at",
    "last_failure_at",
    "last_metrics",
    "metric_keys",
]


def blocking_check_names(asset_checks: list[dict[str, Any]] | None) -> set[str]:
    """The blocking ones among a source's declared checks (``Source.asset_checks``)."""
    return {check["name"] for check in asset_checks or [] if check.get("blocking")}


class Source(models.Model):
    """Something that should produce data: a Dagster asset or job, or a job that pushes its runs.

    Discovery owns the Dagster-side fields; the operator-side ones (owner, runbook, notes,
    paused, expected cron) are never touched by a re-discovery.
    """

    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="sources"
    )
    kind = models.CharField(max_length=10, choices=SourceKind.choices)
    key = models.CharField(max_length=255, help_text="Asset key path (a/b), job name or slug.")
    slug = models.SlugField(max_length=200, unique=True)

    # From Dagster discovery.
    group_name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    dagster_owners = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    kinds = models.JSONField(default=list, blank=True)
    code_location = models.CharField(max_length=255, blank=True)
    repository = models.CharField(max_length=255, blank=True)
    op_names = models.JSONField(default=list, blank=True)
    job_names = models.JSONField(default=list, blank=True)
    partitions_definition = models.CharField(max_length=500, blank=True)
    freshness_policy = models.JSONField(default=dict, blank=True)
    # The asset checks Dagster declares on it (a multi-asset check on each asset it checks),
    # known before they first run: [{name, description, blocking, can_execute_individually}].
    asset_checks = models.JSONField(default=list, blank=True)
    schedule_names = models.JSONField(default=list, blank=True)
    sensor_names = models.JSONField(default=list, blank=True)
    is_asset_job = models.BooleanField(
        default=False,
        help_text="A job that only materialises assets: its outcome is already on those assets.",
    )
    upstream = models.ManyToManyField(
        "self", symmetrical=False, related_name="downstream", blank=True
    )
    is_gone = models.BooleanField(default=False)
    gone_since = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    # Operator-owned.
    owner = models.CharField(max_length=255, blank=True)
    runbook_slug = models.SlugField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    paused = models.BooleanField(default=False)
    expected_cron = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_cron],
        help_text="For pushed sources: when runs are expected, e.g. '0 2 * * *'.",
    )
    expected_cron_timezone = models.CharField(
        max_length=64, blank=True, default="UTC", validators=[validate_timezone]
    )
    volume_metric = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_metric_name],
        help_text="The metadata key that measures this source's volume; empty: chosen "
        "automatically (dagster/row_count, else the one key that counts rows or records).",
    )

    # Latest state, kept with each stored run so pages and rules read one row per source.
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_metrics = models.JSONField(default=dict, blank=True)
    # Every numeric metadata key the source's successes reported: last value, reports, last seen.
    metric_keys = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["deployment__name", "group_name", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "kind", "key"], name="source_unique_per_deployment"
            ),
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=Q(deployment__isnull=True),
                name="pushed_source_unique_key",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def blocking_checks(self) -> set[str]:
        """Names of the declared checks that block: when one fails, Dagster skips the
        materialisations downstream of the asset in that run."""
        return blocking_check_names(self.asset_checks)

    def mark_gone(self, now: datetime) -> None:
        if not self.is_gone:
            self.is_gone, self.gone_since = True, now
            self.save(update_fields=["is_gone", "gone_since"])

    def note_run(self, status: str, at: datetime | None, metrics: dict[str, float]) -> bool:
        """Fold one run's outcome into the latest-state fields; return whether they changed."""
        if at is None or (self.last_run_at is not None and at < self.last_run_at):
            return self._note_older_run(status, at)
        self.last_run_at, self.last_status = at, status
        if status == RunStatus.SUCCESS:
            if metrics and at != self.last_success_at:  # a run noted again is one report
                self.metric_keys = fold_metric_keys(self.metric_keys or {}, metrics, at)
            self.last_success_at = at
            if metrics:
                self.last_metrics = metrics
        elif status == RunStatus.FAILURE:
            self.last_failure_at = at
        return True

    def _note_older_run(self, status: str, at: datetime | None) -> bool:
        """A late-arriving older run can still be the latest success or failure."""
        if at is None:
            return False
        if status == RunStatus.SUCCESS and (
            self.last_success_at is None or at > self.last_success_at
        ):
            self.last_success_at = at
            return True
        if status == RunStatus.FAILURE and (
            self.last_failure_at is None or at > self.last_failure_at
        ):
            self.last_failure_at = at
            return True
        return False

    @staticmethod
    def save_latest_state(sources: Iterable[Source]) -> None:
        """Write the folded latest state of these sources (the last object of a source given
        twice) with one prepared UPDATE run for each: the latest state is new data, which the
        evaluation after the poll judges, not a setting whose change a save's signal compares
        (a read per source). A queryset update() per source cost 240 us of CPU, bulk_update's
        CASE per field 1,200 us, the prepared statement 45 us (a replayed fleet month writes
        40,000)."""
        latest = list({source.pk: source for source in sources}.values())
        update_many(Source, latest, LATEST_STATE_FIELDS)


class Run(models.Model):
    """One run of a Dagster job, or one run reported by a job outside Dagster."""

    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    pushed_source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.CASCADE, related_name="pushed_runs"
    )
    origin = models.CharField(max_length=10, choices=RunOrigin.choices, default=RunOrigin.DAGSTER)
    run_id = models.CharField(max_length=100)
    job_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices)
    created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    dagster_update_time = models.FloatField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    launch_reason = models.CharField(max_length=20, choices=LaunchReason.choices, blank=True)
    schedule_name = models.CharField(max_length=255, blank=True)
    sensor_name = models.CharField(max_length=255, blank=True)
    backfill_id = models.CharField(max_length=255, blank=True)
    partition = models.CharField(max_length=255, blank=True)
    parent_run_id = models.CharField(max_length=100, blank=True)
    root_run_id = models.CharField(max_length=100, blank=True)
    retry_number = models.PositiveIntegerField(default=0)
    will_retry = models.BooleanField(
        default=False, help_text="Dagster will retry this failure: not final yet."
    )
    error_class = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    failed_step = models.CharField(max_length=255, blank=True)
    step_stats = models.JSONField(default=list, blank=True)
    details_fetched = models.BooleanField(
        default=False, help_text="Events (errors, materialisations, checks) have been stored."
    )
    sources: models.ManyToManyField[Source, RunAsset] = models.ManyToManyField(
        Source, through="RunAsset", related_name="runs"
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "run_id"],
                condition=Q(deployment__isnull=False),
                name="run_unique_per_deployment",
            ),
            models.UniqueConstraint(
                fields=["pushed_source", "run_id"],
                condition=Q(pushed_source__isnull=False),
                name="pushed_run_unique_per_source",
            ),
        ]
        indexes = [
            models.Index(fields=["deployment", "status", "details_fetched"]),
            models.Index(fields=["ended_at"]),
            # The hourly prune's range (alerts/retention.py): runs older than the retention.
            models.Index(fields=["created_at"], name="run_created"),
            # Runs not finished, a few among millions: the stuck-run judgement reads them all
            # each pass (alerts/engine/history.load_open_runs), without a scan of every run.
            models.Index(
                fields=["deployment", "created_at"],
                name="run_unfinished",
                condition=Q(status__in=UNFINISHED_RUN_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_name or self.pushed_source} {self.run_id[:8]} {self.status}"

    @property
    def is_final_failure(self) -> bool:
        return self.status == RunStatus.FAILURE and not self.will_retry

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)

    @property
    def dagster_url(self) -> str:
        return self.deployment.run_url(self.run_id) if self.deployment else ""

    @property
    def rank_time(self) -> datetime | None:
        """The time a source's runs are ranked by (copied onto each link as run_created_at)."""
        return self.created_at or self.started_at or self.ended_at

    def record_outcomes(self, outcomes: Mapping[Source, Outcome], at: datetime | None) -> None:
        """Store what this run did to each source and fold it into the source's latest state.

        The one door through which the poll, pushed reports and the replay record outcomes, so
        that every link carries the run's time and every source reads its runs alike: an asset
        takes its outcome's status (it can be produced by a run that failed elsewhere), a job
        or a pushed source, being the run itself, takes the run's. ``at`` is when it happened.
        The replay takes the door's two halves apart (``fold_outcomes`` as it reads a run,
        ``create_many`` and ``Source.save_latest_state`` for a stretch of runs at once).
        """
        self._store_links(outcomes)
        Source.save_latest_state(self.fold_outcomes(outcomes, at))

    def fold_outcomes(
        self, outcomes: Mapping[Source, Outcome], at: datetime | None
    ) -> list[Source]:
        """Fold the outcomes into the sources' latest state in memory; return those it changed."""
        changed = []
        for source, result in outcomes.items():
            is_asset = source.kind == SourceKind.ASSET
            status = OUTCOME_STATUS.get(result.outcome, "") if is_asset else self.status
            if status and source.note_run(status, at, result.metrics):
                changed.append(source)
        return changed

    @staticmethod
    def create_many(batch: Sequence[tuple[Run, Mapping[Source, Outcome]]]) -> None:
        """Save new runs of one Dagster deployment and their links, each table with one
        prepared INSERT (a replay's runs between two evaluations); the runs' ids are read back
        by run id. Their sources' latest state is folded by ``fold_outcomes`` and saved by the
        caller. bulk_create cost 175 us of CPU per run and 100 per link, mostly preparing
        fields through the query compiler."""
        runs = [run for run, _ in batch]
        if not runs:
            return
        deployment_id = runs[0].deployment_id
        if deployment_id is None or any(run.deployment_id != deployment_id for run in runs):
            raise ValueError("create_many stores new runs of one Dagster deployment")
        insert_many(Run, runs)
        ids: dict[str, int] = {}
        run_ids = [run.run_id for run in runs]
        for start in range(0, len(run_ids), IDS_PER_QUERY):
            chunk = run_ids[start : start + IDS_PER_QUERY]
            found = Run.objects.filter(deployment_id=deployment_id, run_id__in=chunk)
            ids.update(found.values_list("run_id", "pk"))
        for run in runs:
            run.pk = ids[run.run_id]
            run._state.adding, run._state.db = False, "default"
        insert_many(
            RunAsset,
            [
                RunAsset.settled(run, source, result)
                for run, outcomes in batch
                for source, result in outcomes.items()
            ],
        )

    def _store_links(self, outcomes: Mapping[Source, Outcome]) -> None:
        """Create or correct the links in bulk: a poll settles many sources per run."""
        links = self.run_assets.filter(source__in=list(outcomes))
        stored = {link.source_id: link for link in links}
        new, changed = [], []
        for source, result in outcomes.items():
            link = stored.get(source.pk)
            if link is None:
                new.append(RunAsset.settled(self, source, result))
            elif link.settle(result, self.rank_time):
                changed.append(link)
        RunAsset.objects.bulk_create(new)
        for link in changed:  # a few updates cost less CPU than bulk_update's CASE per field
            link.save(update_fields=RunAsset.SETTLED_FIELDS)


class Outcome(NamedTuple):
    """What a run did to one source, the source's numbers in it and, when it failed there, its
    own error and step (several steps of one run fail each with their own exception)."""

    outcome: str
    metrics: dict[str, float]
    error: str = ""
    failed_step: str = ""


class RunAsset(models.Model):
    """What one run did to one source."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="run_assets")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="run_assets")
    outcome = models.CharField(max_length=20, choices=RunAssetOutcome.choices)
    # Copied from the run so that a source's latest runs are read from one index, and its
    # numeric metadata from this run, so that rules read one row per run.
    run_created_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # This source's own failure in the run: its step's exception, or the run-level error when
    # the run failed outside any step. Blank on older rows, which read the run's error.
    error_message = models.TextField(blank=True)
    failed_step = models.CharField(max_length=255, blank=True)

    SETTLED_FIELDS = ["outcome", "metrics", "run_created_at", "error_message", "failed_step"]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "source"], name="run_asset_unique")]
        indexes = [
            models.Index(fields=["source", "run"]),
            models.Index(fields=["source", "-run_created_at"], name="run_asset_latest"),
            # The status page's timeline reads every source's runs in a time window.
            models.Index(fields=["run_created_at"], name="run_asset_created"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.outcome} in {self.run.run_id[:8]}"

    @property
    def error(self) -> str:
        """The error to show for this source in this run: its own, else the run's."""
        return self.error_message or self.run.error_message

    def settle(self, result: Outcome, rank_time: datetime | None) -> bool:
        """Take a (re)settled outcome; True when anything changed and the row needs saving."""
        wanted = (result.outcome, result.metrics, rank_time, result.error, result.failed_step)
        if wanted == tuple(getattr(self, name) for name in self.SETTLED_FIELDS):
            return False
        for name, value in zip(self.SETTLED_FIELDS, wanted, strict=True):
            setattr(self, name, value)
        return True

    @classmethod
    def settled(cls, run: Run, source: Source, result: Outcome) -> RunAsset:
        """An unsaved link with the outcome, numbers and own failure of ``result``."""
        link = cls.link(run, source, result.outcome, result.metrics)
        link.error_message, link.failed_step = result.error, result.failed_step
        return link

    @classmethod
    def link(
        cls, run: Run, source: Source, outcome: str, metrics: dict[str, float] | None = None
    ) -> RunAsset:
        """An unsaved link carrying the run's time, for save() or bulk_create()."""
        return cls(
            run=run,
            source=source,
            outcome=outcome,
            metrics=metrics or {},
            run_created_at=run.rank_time,
        )


class AssetEvent(models.Model):
    """A materialisation or observation, with its numeric metadata as metrics."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="events")
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    dagster_run_id = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=AssetEventKind.choices)
    timestamp = models.DateTimeField()
    dagster_timestamp = models.CharField(
        max_length=40, blank=True, help_text="Dagster's raw timestamp string, the dedupe key."
    )
    partition = models.CharField(max_length=255, blank=True)
    step_key = models.CharField(max_length=255, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    text_metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "dagster_run_id", "kind", "dagster_timestamp"],
                name="asset_event_unique",
            )
        ]
        indexes = [
            models.Index(fields=["source", "-timestamp"]),
            models.Index(fields=["timestamp"], name="asset_event_time"),  # the prune's range
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.source} at {self.timestamp:%Y-%m-%d %H:%M}"


class CheckResult(models.Model):
    """One evaluation of a Dagster asset check."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="check_results")
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.CASCADE, related_name="check_results"
    )
    dagster_run_id = models.CharField(max_length=100, blank=True)
    check_name = models.CharField(max_length=255)
    passed = models.BooleanField()
    severity = models.CharField(max_length=10, choices=CheckSeverity.choices)
    description = models.TextField(blank=True)
    evaluated_at = models.DateTimeField()
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-evaluated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "check_name", "run_id", "evaluated_at"],
                name="check_result_unique",
            )
        ]
        indexes = [
            models.Index(fields=["source", "check_name", "-evaluated_at"]),
            models.Index(fields=["evaluated_at"], name="check_result_time"),  # the prune's range
        ]

    def __str__(self) -> str:
        return f"{self.check_name} {'passed' if self.passed else 'failed'} ({self.severity})"


class Instigator(models.Model):
    """A Dagster schedule or sensor, with the state of its latest tick."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="instigators")
    kind = models.CharField(max_length=10, choices=InstigatorKind.choices)
    name = models.CharField(max_length=255)
    code_location = models.CharField(max_length=255)
    repository = models.CharField(max_length=255)
    cron = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, blank=True)
    target_jobs = models.JSONField(default=list, blank=True)
    min_interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    state_id = models.CharField(max_length=255, blank=True)
    last_tick_status = models.CharField(max_length=20, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    last_tick_error = models.TextField(blank=True)
    is_gone = models.BooleanField(default=False)
    # When confops saw it go from RUNNING to STOPPED (someone switched it off); None while it
    # runs, and for one that was never seen running (defined STOPPED).
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment__name", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "kind", "code_location", "name"], name="instigator_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    def observe_status(self, status: str, now: datetime) -> None:
        """Set (not save) the status Dagster reports, remembering a switch from running to
        stopped; an empty status (not reported) changes nothing."""
        if not status:
            return
        if status == "STOPPED" and self.status == "RUNNING":  # Dagster's InstigationStatus
            self.stopped_at = now
        elif status != "STOPPED":
            self.stopped_at = None
        self.status = status


class FailedTick(models.Model):
    """A schedule or sensor tick that failed, with its error."""

    instigator = models.ForeignKey(
        Instigator, on_delete=models.CASCADE, related_name="failed_ticks"
    )
    tick_id = models.CharField(max_length=100)
    timestamp = models.DateTimeField()
    error_class = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(fields=["instigator", "tick_id"], name="failed_tick_unique")
        ]

    def __str__(self) -> str:
        return f"{self.instigator} tick {self.tick_id} failed"
