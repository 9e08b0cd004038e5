"""Prometheus metrics, computed from the database and the shared cache on every scrape.

Nothing is counted in process memory: every gunicorn worker answers a scrape with the same
figures, read in a fixed number of queries (twelve) whatever the number of sources. Families and
labels are documented in README ("Metrics"); series are bounded by the number of sources,
deployments, rules and channel kinds (no run ids, no error texts, a fixed list of metadata names).

Source state (``confops_source_state``) is the status page's cell (``monitoring.status``) as a
number: 0 healthy (or paused: not judged; or recovering: every open alert has cleared and waits
out its resolve hold), 1 warning (or unknown: confops cannot vouch for it), 2 critical.

A fleet need not be scraped whole (``Scope``): ``/metrics?deployment=<name>`` answers one
deployment's deployment, poll and source series (``deployment=-``: the pushed sources'), and
``/metrics?scope=fleet`` everything but the per-source series, so one scrape job per deployment
plus one for the fleet read each row once between them and none reads every source (README,
"Metrics").
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from alerts.choices import OPEN_INCIDENT_STATES, OPEN_STATES, Severity
from alerts.models import Alert, AlertRule, Channel, Incident, Notification
from alerts.pages.counts import BUCKETS, INCIDENT_BUCKETS, AlertCounts
from alerts.pages.status import AlertTotals, open_alerts
from confops.common import queues
from confops.runtime import broker as embedded_broker
from confops.runtime import heartbeat
from monitoring.choices import TERMINAL_RUN_STATUSES, HealthState
from monitoring.filters import PUSHED
from monitoring.models import Deployment, PollRecord, RunAsset, Source
from monitoring.status import OpenAlerts, deployment_problem, source_health
from reports.quality import rule_quality

STATE_VALUE = {
    HealthState.HEALTHY: 0,
    HealthState.PAUSED: 0,
    HealthState.RECOVERING: 0,
    HealthState.WARNING: 1,
    HealthState.UNKNOWN: 1,
    HealthState.CRITICAL: 2,
}
# Poll durations: an idle poll takes tens of ms, a request times out after 10 s by default.
POLL_BUCKETS_SECONDS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
EVALUATION_KEY = "confops:metrics:evaluation:{trigger}"
EVALUATION_TRIGGERS = ("timer", "poll")
SOURCE_LABELS = ["deployment", "source", "kind"]
DEPLOYMENT_LABELS = ["deployment"]
# kombu's Redis transport keeps priorities 3, 6 and 9 in lists of their own beside the queue's.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
CELERY_QUEUES = queues.ALL  # confops/common/queues.py: a dead per-queue worker shows here
NO_CHANNEL = "direct"  # a message to one person (a silence's author), not through a channel


def record_evaluation(trigger: str, seconds: float, now: float) -> None:
    """Keep the last evaluation's duration in the shared cache, for whichever process scrapes."""
    value = {"seconds": seconds, "at": now}
    cache.set(EVALUATION_KEY.format(trigger=trigger), value, heartbeat.HEARTBEAT_TTL_SECONDS)


def on_evaluated(trigger: str, seconds: float, now: datetime, **_: object) -> None:
    """Receiver of ``alerts.signals.evaluated`` (connected in confops/apps.py)."""
    record_evaluation(trigger, seconds, now.timestamp())


@dataclass(frozen=True)
class Scope:
    """What one scrape reads: everything (the default), one deployment's series (``deployment``
    set), or all but the per-source series (``fleet``)."""

    deployment: str | None = None
    fleet: bool = False

    @property
    def everything(self) -> bool:
        return self.deployment is None and not self.fleet


class ConfopsCollector(Collector):
    """Yields the confops families of its scope, read fresh from the database at each
    ``collect()``."""

    def __init__(self, scope: Scope | None = None) -> None:
        self.scope = scope or Scope()

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        yield from collect_all(timezone.now(), self.scope)
        took = GaugeMetricFamily(
            "confops_metrics_collect_duration_seconds",
            "Time this process took to compute the other families of this scrape.",
        )
        took.add_metric([], time.perf_counter() - started)
        yield took


def registry(scope: Scope | None = None) -> CollectorRegistry:
    """A registry of its own: the process's default one would add per-process figures. The
    request histograms go with the fleet's part, not with each deployment's."""
    scope = scope or Scope()
    dedicated = CollectorRegistry(auto_describe=False)
    dedicated.register(ConfopsCollector(scope))
    if settings.METRICS_MULTIPROC_DIR and scope.deployment is None:
        # Request histograms written by every web worker (confops/common/request_metrics.py).
        MultiProcessCollector(dedicated, path=settings.METRICS_MULTIPROC_DIR)
    return dedicated


def collect_all(now: datetime, scope: Scope | None = None) -> Iterator[Metric]:
    scope = scope or Scope()
    rows = Deployment.objects.values(*DEPLOYMENT_FIELDS)
    if scope.deployment is not None:
        rows = rows.filter(name=scope.deployment)  # none for PUSHED
    deployments = {d["pk"]: d for d in rows}
    names = {pk: d["name"] for pk, d in deployments.items()}
    yield from deployment_families(list(deployments.values()), now)
    yield from poll_families(names, now)
    if scope.deployment is not None:
        # Pushed sources (no deployment) are the part named PUSHED: a list holding None.
        ids: list[int | None] = [None] if scope.deployment == PUSHED else [*deployments]
        yield from source_series(deployments, open_alerts(), now, ids)
        return
    totals = open_alerts()
    yield counted_family(totals.counts)
    yield incidents_counted_family(totals.counts)
    if not scope.fleet:
        yield from source_series(deployments, totals, now)
    yield from alert_families()
    yield from incident_families()
    yield from notification_families()
    yield from quality_families(now)
    yield from process_families(now)


# --- Deployments -------------------------------------------------------------------------------

DEPLOYMENT_FIELDS = (
    "pk",
    "name",
    "enabled",
    "poll_interval_seconds",
    "last_success_at",
    "consecutive_failures",
    "failing_since",
)


def deployment_families(rows: list[dict[str, Any]], now: datetime) -> Iterator[Metric]:
    reachable = gauge(
        "confops_deployment_reachable", "1 when the last poll succeeded.", DEPLOYMENT_LABELS
    )
    enabled = gauge(
        "confops_deployment_enabled", "1 when the deployment is polled.", DEPLOYMENT_LABELS
    )
    failures = gauge(
        "confops_deployment_consecutive_poll_failures",
        "Polls failed in a row, up to now.",
        DEPLOYMENT_LABELS,
    )
    since = gauge(
        "confops_deployment_seconds_since_last_successful_poll",
        "Age of the last successful poll; +Inf when none ever succeeded.",
        DEPLOYMENT_LABELS,
    )
    # Lets alert rules scale "no successful poll for too long" with each deployment's interval.
    interval = gauge(
        "confops_deployment_poll_interval_seconds",
        "The configured time between two polls.",
        DEPLOYMENT_LABELS,
    )
    for row in rows:
        labels = [row["name"]]
        ok = row["last_success_at"] is not None and row["consecutive_failures"] == 0
        reachable.add_metric(labels, float(ok))
        enabled.add_metric(labels, float(row["enabled"]))
        failures.add_metric(labels, float(row["consecutive_failures"]))
        since.add_metric(labels, age(row["last_success_at"], now))
        interval.add_metric(labels, float(row["poll_interval_seconds"]))
    yield from (reachable, enabled, failures, since, interval)


def poll_families(names: dict[int, str], now: datetime) -> Iterator[Metric]:
    """Poll durations and failures over the last window of ``PollRecord`` rows.

    A gauge histogram, not a counter one: the rows are pruned after
    ``POLL_RECORD_RETENTION_HOURS``, so cumulative counts would fall; the window's buckets are
    read as they are (``histogram_quantile`` without ``rate``).
    """
    window = settings.METRICS_POLL_WINDOW_SECONDS
    histogram = GaugeHistogramMetricFamily(
        "confops_deployment_poll_duration_seconds",
        f"Durations of the polls of the last {window} s.",
        labels=["deployment"],
    )
    failed = gauge(
        "confops_deployment_failed_polls",
        f"Failed polls among those of the last {window} s.",
        DEPLOYMENT_LABELS,
    )
    for row in poll_rows(list(names), now - timedelta(seconds=window)):
        labels = [names[row["deployment_id"]]]
        buckets = [(str(b), float(row[f"le_{i}"])) for i, b in enumerate(POLL_BUCKETS_SECONDS)]
        buckets.append(("+Inf", float(row["n"])))
        histogram.add_metric(labels, buckets, gsum_value=(row["total_ms"] or 0.0) / 1000)
        failed.add_metric(labels, float(row["failed"]))
    yield from (histogram, failed)


def poll_rows(deployment_ids: list[int], since: datetime) -> Iterable[dict[str, Any]]:
    """One row per deployment with its bucket counts, summed by the database."""
    if not deployment_ids:
        return []
    le = {
        f"le_{i}": Count("pk", filter=Q(duration_ms__lte=bound * 1000))
        for i, bound in enumerate(POLL_BUCKETS_SECONDS)
    }
    return (
        PollRecord.objects.filter(deployment_id__in=deployment_ids, started_at__gte=since)
        .values("deployment_id")
        .annotate(
            n=Count("pk"), failed=Count("pk", filter=Q(ok=False)), total_ms=Sum("duration_ms")
        )
        .annotate(**le)
        .order_by()
    )


# --- Sources -----------------------------------------------------------------------------------

SOURCE_FIELDS = (
    "pk",
    "slug",
    "kind",
    "deployment_id",
    "paused",
    "last_run_at",
    "last_success_at",
    "last_metrics",
)


def source_rows(deployment_ids: list[int | None] | None = None) -> list[dict[str, Any]]:
    """The grid's sources (of those deployments, if given) with their last finished run's
    duration (an index seek per source)."""
    last_duration = (
        RunAsset.objects.filter(source=OuterRef("pk"), run__duration_s__isnull=False)
        .order_by("-run_created_at", "-pk")
        .values("run__duration_s")[:1]
    )
    query = Source.objects.filter(is_gone=False, is_asset_job=False)
    if deployment_ids is not None:
        query = query.filter(of_deployments("deployment_id", deployment_ids))
    return list(query.order_by("pk").values(*SOURCE_FIELDS, last_duration=Subquery(last_duration)))


def source_series(
    deployments: dict[int, dict[str, Any]],
    totals: AlertTotals,
    now: datetime,
    deployment_ids: list[int | None] | None = None,
) -> Iterator[Metric]:
    """The per-source families, of every source or of those deployments' only."""
    rows = source_rows(deployment_ids)
    alerts = totals.by_source
    problems = {pk: problem_of(d, now) for pk, d in deployments.items()}
    state = gauge(
        "confops_source_state",
        "0 healthy, paused or recovering, 1 warning or unknown, 2 critical.",
        SOURCE_LABELS,
    )
    since = gauge(
        "confops_source_seconds_since_last_success",
        "Age of the last successful run.",
        SOURCE_LABELS,
    )
    took = gauge(
        "confops_source_last_run_duration_seconds",
        "Duration of the last finished run.",
        SOURCE_LABELS,
    )
    values = gauge(
        "confops_source_last_metric_value",
        "Numeric metadata of the last successful run (METRICS_SOURCE_METRIC_NAMES).",
        labels=[*SOURCE_LABELS, "metric"],
    )
    wanted = list(settings.METRICS_SOURCE_METRIC_NAMES)
    labels_of: dict[int, list[str]] = {}
    for row in rows:
        dep = row["deployment_id"]
        labels = [deployments[dep]["name"] if dep else "", row["slug"], row["kind"]]
        labels_of[row["pk"]] = labels
        health = source_health(
            paused=row["paused"],
            deployment_problem=problems.get(dep, "") if dep else "",
            alerts=alerts.get(row["pk"]) or OpenAlerts(),
            last_run_at=row["last_run_at"],
            last_success_at=row["last_success_at"],
            now=now,
        )
        state.add_metric(labels, float(STATE_VALUE[health.state]))
        if row["last_success_at"] is not None:
            since.add_metric(labels, age(row["last_success_at"], now))
        if row["last_duration"] is not None:
            took.add_metric(labels, float(row["last_duration"]))
        add_metric_values(values, labels, row["last_metrics"] or {}, wanted)
    yield from (state, since, took, values)
    yield runs_family(labels_of, deployment_ids)


def add_metric_values(
    family: GaugeMetricFamily, labels: list[str], metrics: dict[str, Any], wanted: list[str]
) -> None:
    for name in wanted:
        value = metrics.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            family.add_metric([*labels, name], float(value))


def runs_family(
    labels_of: dict[int, list[str]], deployment_ids: list[int | None] | None = None
) -> CounterMetricFamily:
    """Stored finished runs per source and final status.

    A counter holds: confops never deletes runs (only with their source, whose series go with
    it) and a finished run's status does not change; unfinished runs are left out because theirs
    does.
    """
    runs = CounterMetricFamily(
        "confops_source_runs",
        "Finished runs stored for the source, by final status.",
        labels=[*SOURCE_LABELS, "status"],
    )
    query = RunAsset.objects.filter(run__status__in=TERMINAL_RUN_STATUSES)
    if deployment_ids is not None:
        query = query.filter(of_deployments("source__deployment_id", deployment_ids))
    rows = query.values("source_id", "run__status").annotate(n=Count("pk")).order_by()
    for row in rows:
        labels = labels_of.get(row["source_id"])
        if labels is not None:
            runs.add_metric([*labels, row["run__status"].lower()], float(row["n"]))
    return runs


def of_deployments(field: str, deployment_ids: list[int | None]) -> Q:
    """Rows of those deployments (None: of no deployment, the pushed sources)."""
    ids = [pk for pk in deployment_ids if pk is not None]
    found = Q(**{f"{field}__in": ids})
    return found | Q(**{f"{field}__isnull": True}) if None in deployment_ids else found


def problem_of(row: dict[str, Any], now: datetime) -> str:
    return deployment_problem(
        row["enabled"],
        row["last_success_at"],
        row["consecutive_failures"],
        row["failing_since"],
        now,
    )


# --- Alerts and notifications ------------------------------------------------------------------


def counted_family(counts: AlertCounts) -> GaugeMetricFamily:
    """Open alerts counted as the status page's header and the alerts page count them
    (``alerts.pages.counts``): each in one status, every status and severity with its zero."""
    family = gauge(
        "confops_alerts_counted",
        "Open alerts by status (firing, acknowledged, held_back, recovering) and severity, "
        "counted as the portal's pages count them.",
        labels=["status", "severity"],
    )
    for status in BUCKETS:
        for severity in Severity:
            family.add_metric([status, str(severity)], float(counts.of(status, severity)))
    return family


def incidents_counted_family(counts: AlertCounts) -> GaugeMetricFamily:
    """Incidents counted as the tab title and the pages' "N incidents firing" count them
    (``alerts.pages.counts``), every status with its zero."""
    family = gauge(
        "confops_incidents_counted",
        "Incidents with open alerts by status (firing: open with a member paging now, a firing "
        "alert in no incident counting as one; acknowledged; quiet: every member held back or "
        "recovering), counted as the portal's tab title counts them.",
        labels=["status"],
    )
    for status in INCIDENT_BUCKETS:
        family.add_metric([status], float(counts.incidents.get(status, 0)))
    return family


def alert_families() -> Iterator[Metric]:
    """Open alerts per rule, severity and state; every enabled rule shows its zeros too, so
    graphs of alerts over time have a line from the start."""
    counts: dict[tuple[str, str, str], float] = {}
    for rule in AlertRule.objects.filter(enabled=True).values("name", "severity"):
        for state in OPEN_STATES:
            counts[(rule["name"], rule["severity"], str(state))] = 0.0
    rows = (
        Alert.objects.filter(state__in=OPEN_STATES)
        .values("rule__name", "severity", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[(row["rule__name"], row["severity"], row["state"])] = float(row["n"])
    family = gauge(
        "confops_alerts_open",
        "Open alerts (pending, firing, acknowledged) per rule and severity.",
        labels=["rule", "severity", "state"],
    )
    for labels, value in sorted(counts.items()):
        family.add_metric(list(labels), value)
    yield family


def incident_families() -> Iterator[Metric]:
    """Open incidents (what pages: open or acknowledged, recovering ones included) per severity,
    every severity shown with its zero, and how many of them flap: one grouped query."""
    opened = gauge(
        "confops_incidents_open",
        "Open incidents (open or acknowledged, recovering included) per severity.",
        labels=["severity"],
    )
    flapping = gauge("confops_incidents_flapping", "Open incidents recognised as flapping.")
    counts = {str(severity): 0.0 for severity in Severity}
    rows = (
        Incident.objects.filter(state__in=OPEN_INCIDENT_STATES)
        .values("severity")
        .annotate(n=Count("pk"), flapping_n=Count("pk", filter=Q(flapping_since__isnull=False)))
        .order_by()
    )
    flaps = 0.0
    for row in rows:
        counts[row["severity"]] = float(row["n"])
        flaps += row["flapping_n"]
    for severity, value in counts.items():
        opened.add_metric([severity], value)
    flapping.add_metric([], flaps)
    yield from (opened, flapping)


def notification_families() -> Iterator[Metric]:
    """Outbox rows by channel kind and status, and channels whose sends keep failing.

    Rows are a gauge: a failed row can be retried by hand (back to pending), and rows go with
    their channel, so the count of failed rows can fall.
    """
    stored = gauge(
        "confops_notifications",
        "Notifications in the outbox by channel kind and status.",
        labels=["channel_kind", "status"],
    )
    rows = Notification.objects.values("channel__kind", "status").annotate(n=Count("pk")).order_by()
    for row in rows:
        stored.add_metric([row["channel__kind"] or NO_CHANNEL, row["status"]], float(row["n"]))
    failing = gauge(
        "confops_channels_failing",
        "Enabled channels whose last messages all failed, by kind.",
        labels=["channel_kind"],
    )
    channels = (
        Channel.objects.filter(enabled=True)
        .values("kind")
        .annotate(n=Count("pk", filter=Q(failing_since__isnull=False)))
        .order_by()
    )
    for row in channels:
        failing.add_metric([row["kind"]], float(row["n"]))
    yield from (stored, failing)


# Alert quality per rule (reports/quality.py) is judged over the incidents of the last week.
QUALITY_WINDOW = timedelta(days=7)


def quality_families(now: datetime) -> Iterator[Metric]:
    """Per rule, over the incidents opened in the trailing week (two queries): messages per
    incident (per channel), median seconds to acknowledge and to resolve (no sample while none
    was), the share of flapping incidents and how many nobody acknowledged."""
    labels = ["rule"]
    messages = gauge(
        "confops_rule_messages_per_incident",
        "Messages per incident and channel, incidents opened in the last 7 days.",
        labels,
    )
    ack = gauge(
        "confops_rule_ack_seconds_median",
        "Median seconds from opening to acknowledgement, incidents of the last 7 days.",
        labels,
    )
    resolve = gauge(
        "confops_rule_resolve_seconds_median",
        "Median seconds from opening to resolution, incidents of the last 7 days.",
        labels,
    )
    flapping = gauge(
        "confops_rule_flapping_ratio",
        "Share of the incidents of the last 7 days recognised as flapping (0 to 1).",
        labels,
    )
    unacknowledged = gauge(
        "confops_rule_unacknowledged_incidents",
        "Incidents of the last 7 days nobody acknowledged (resolved or still open).",
        labels,
    )
    for figures in rule_quality(now - QUALITY_WINDOW, now).rules:
        label = [figures.rule]
        messages.add_metric(label, figures.messages_per_incident)
        if figures.median_ack_s is not None:
            ack.add_metric(label, figures.median_ack_s)
        if figures.median_resolve_s is not None:
            resolve.add_metric(label, figures.median_resolve_s)
        flapping.add_metric(label, figures.flapping_ratio)
        unacknowledged.add_metric(label, float(figures.unacknowledged))
    yield from (messages, ack, resolve, flapping, unacknowledged)


# --- Processes: evaluation, Celery, heartbeats -------------------------------------------------


def process_families(now: datetime) -> Iterator[Metric]:
    evaluation = gauge(
        "confops_evaluation_duration_seconds",
        "Duration of the last rule evaluation: timer (every rule) or poll (touched sources).",
        labels=["trigger"],
    )
    keys = {EVALUATION_KEY.format(trigger=t): t for t in EVALUATION_TRIGGERS}
    for key, value in cache.get_many(list(keys)).items():
        if isinstance(value, dict) and "seconds" in value:
            evaluation.add_metric([keys[key]], float(value["seconds"]))
    yield evaluation
    yield from heartbeat_families(now.timestamp())
    yield from queue_families()


def heartbeat_families(now: float) -> Iterator[Metric]:
    beat = gauge("confops_beat_heartbeat_age_seconds", "Age of beat's heartbeat; +Inf if none.")
    beat.add_metric([], heartbeat_age(heartbeat.BEAT_KEY, now))
    task = gauge(
        "confops_worker_task_heartbeat_age_seconds",
        "Age of the heartbeat task a worker last ran (beat -> broker -> worker); +Inf if none.",
    )
    task.add_metric([], heartbeat_age(heartbeat.WORKER_TASK_KEY, now))
    workers = gauge(
        "confops_worker_heartbeat_age_seconds",
        "Age of each known worker's own heartbeat (its watcher thread).",
        ["worker"],
    )
    for host, at in sorted(heartbeat.read_workers(now).items()):
        workers.add_metric([host], heartbeat.age_seconds(now, at))
    yield from (beat, task, workers)


def heartbeat_age(key: str, now: float) -> float:
    value = heartbeat.read(key)
    if value is None or "at" not in value:
        return math.inf
    return heartbeat.age_seconds(now, float(value["at"]))


def queue_families() -> Iterator[Metric]:
    """Messages waiting in the broker; the broker's answer is bounded by a timeout."""
    depth = gauge(
        "confops_celery_queue_length", "Messages waiting in the Celery queue.", labels=["queue"]
    )
    up = gauge("confops_celery_broker_up", "1 when the broker answered this scrape.")
    try:
        lengths = queue_lengths()
    except Exception:  # a broken broker must not fail the scrape: it shows as broker_up 0
        up.add_metric([], 0.0)
    else:
        up.add_metric([], 1.0)
        for queue, length in lengths.items():
            depth.add_metric([queue], float(length))
    yield from (depth, up)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        rejected = gauge(
            "confops_broker_rejected_messages",
            "Unreadable messages the embedded broker set aside (in the broker folder's rejected/).",
        )
        rejected.add_metric([], float(embedded_broker.rejected_count(settings.BROKER_DIR)))
        yield rejected


def queue_lengths() -> dict[str, int]:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return filesystem_queue_lengths(folder)
    if url.startswith(("redis://", "rediss://")):
        return redis_queue_lengths(url, settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    return {}


def filesystem_queue_lengths(folder: str) -> dict[str, int]:
    """The embedded broker keeps one file a message, named as ``confops.runtime.broker.queue_of``
    reads."""
    counts: dict[str, int] = defaultdict(int)
    with os.scandir(folder) as entries:
        for entry in entries:
            queue = embedded_broker.queue_of(entry.name) if entry.name.endswith(".msg") else ""
            if queue in CELERY_QUEUES:
                counts[queue] += 1
    return {queue: counts.get(queue, 0) for queue in CELERY_QUEUES}


def redis_queue_lengths(url: str, timeout: float) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in CELERY_QUEUES:
            for suffix in REDIS_PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = [int(n) for n in pipe.execute()]
    finally:
        client.close()
    step = len(REDIS_PRIORITY_SUFFIXES)
    return {q: sum(lengths[i * step : (i + 1) * step]) for i, q in enumerate(CELERY_QUEUES)}


# --- Helpers -----------------------------------------------------------------------------------


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def age(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return math.inf
    return max(0.0, (now - moment).total_seconds())
