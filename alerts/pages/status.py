"""What the status page shows, read in a fixed number of queries whatever the number of sources.

1. deployments; 2. the visible sources counted per deployment, group, pause and recent success
in SQL, sources with an open alert one by one (one row per source, with the filters' JSON
fields, only when a tag or owner filter is set); 3. open alerts summed per source, severity and
whether they are clearing (waiting out their resolve hold: a recovering source) in SQL; 4. the
full rows of the sources shown as cells (an opened deployment's, and the failing ones); 5. their
timeline's runs in the window, at most ``RUNS_PER_SOURCE`` per source, ranked in SQL and joined
to their run. Filters apply in Python to the source rows (tags and Dagster owners are JSON,
which SQLite cannot search well; the group in SQL too, to the cells' rows), and in SQL to the
runs when any is set. Only when a shown source never ran: 6. the schedules of their
deployments, to say when the first run is due. Only for the whole page (not its refresh): 7. the
distinct groups, tags and owners for the filter form.

At fleet size (more than ``COLLAPSE_ABOVE`` shown sources) deployments are collapsed: a header
with the health counts of its sources, its own problem and open alerts, and a link that opens
it (``?open=<name>``, or the deployment filter). The on-call engineer woken at 3 am must see what
is failing without a click, and no more than that: deployments with a critical, then a warning
source or alert, then those that cannot be polled, come first, and a collapsed deployment still
shows its critical and warning cells (up to ``FAILING_CELLS_SHOWN``); its healthy sources, the
bulk of a fleet, stay a count. Deployments are paginated (``SECTIONS_PER_PAGE``, ``?page=N``)
and the refresh keeps the page and the opened deployment. Collapsed sources cost a share of
query 2's counts; only cells load their full row and runs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    Q,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone

from alerts.choices import AlertState
from alerts.engine.history import load_schedules, schedules_of
from alerts.models import Alert
from alerts.pages.counts import CLEARING, HELD, INCIDENT_FIELDS, AlertCounts, tally
from alerts.rules.missed_schedule import next_expected
from confops.common.formatting import number, since
from monitoring.choices import HealthState, TimelineWindow
from monitoring.db import Epoch
from monitoring.filters import PUSHED, StatusFilters
from monitoring.models import Deployment, RunAsset, Source
from monitoring.status import (
    RECENT_SUCCESS,
    Health,
    OpenAlerts,
    deployment_problem,
    source_health,
    source_state,
)
from monitoring.timeline import (
    RUNS_PER_SOURCE,
    Bar,
    Placer,
    Tick,
    TimelineRun,
    TimeWindow,
    place_all,
    ticks,
)
from monitoring.volume import source_volume_key

SOURCE_FIELDS = (
    "pk",
    "slug",
    "key",
    "deployment_id",
    "group_name",
    "tags",
    "owner",
    "dagster_owners",
    "paused",
    "last_status",
    "last_metrics",
    "volume_metric",
    "metric_keys",
    "schedule_names",
    "expected_cron",
    "expected_cron_timezone",
)
# The two times each source row needs, as epoch seconds (see ``RUN_FIELDS``).
SOURCE_TIMES = {"ran": Epoch("last_run_at"), "succeeded": Epoch("last_success_at")}
# Times come as seconds since 1970 computed by the database: parsing thousands of datetimes
# was a good part of the page's time.
RUN_FIELDS = (
    "source_id",
    "outcome",
    "run__run_id",
    "run__deployment_id",
    "run__status",
    "began",
    "ended",
    "run__duration_s",
    "run__will_retry",
    "run__error_message",
    "run__partition",
)
VISIBLE_ALERT_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)
# When a cleared alert closes, as epoch seconds: the same moment as
# ``alerts.engine.recovery.closes_at`` (its clear plus its rule's resolve hold), summed in SQL.
CLOSES = Epoch("clear_since") + F("rule__resolve_hold_minutes") * 60.0
# Beyond this many shown sources deployments are collapsed and paginated (see the docstring):
# 300 cells and their timeline rows are about what a screen and the page's 500 ms allow.
COLLAPSE_ABOVE = 300
SECTIONS_PER_PAGE = 25
# The critical and warning cells a collapsed deployment still shows.
FAILING_CELLS_SHOWN = 12
# What a source's state needs (with whether its last success is recent, ``recent_success``),
# and what the tag and owner filters read (JSON, parsed per row: read only when one of those
# filters is set).
HEALTH_FIELDS = ("pk", "deployment_id", "group_name", "paused")
FILTER_FIELDS = ("tags", "owner", "dagster_owners")
# The order of deployments at fleet size: what most needs someone first.
URGENCY = ("critical", "warning", "problem", HealthState.UNKNOWN, HealthState.RECOVERING)
FAILING = (HealthState.CRITICAL, HealthState.WARNING)
NO_ALERTS = OpenAlerts()
# Beyond this many shown sources the runs query joins sources instead of listing their ids
# (SQLite allows 32,766 parameters in one statement).
MAX_LISTED_SOURCES = 5000


@dataclass
class Cell:
    """One source in the grid, and its row of the timeline."""

    slug: str
    key: str
    url: str
    health: Health
    last_run: str
    last_status: str
    count: str
    fresh: str
    acknowledged: bool
    silenced: bool = False  # every open alert of a failing source is held back (a silence)
    bars: list[Bar] = field(default_factory=list)
    capped: bool = False


@dataclass
class Group:
    name: str
    cells: list[Cell]


@dataclass
class Section:
    """A deployment (or the pushed sources) with its groups of sources."""

    key: str
    title: str
    deployment: Deployment | None
    problem: str
    alerts: OpenAlerts
    groups: list[Group]
    states: Counter[str] = field(default_factory=Counter)  # health of its shown sources
    size: int = 0  # its shown sources
    collapsed: bool = False
    hidden: int = 0  # shown sources without a cell (collapsed)
    open_query: str = ""  # the query string that expands it

    @property
    def urgency(self) -> int:
        """Its rank in ``URGENCY`` (lower first)."""
        worst = self.alerts.worst
        for rank, what in enumerate(URGENCY):
            if self.states.get(what) or worst == what or (what == "problem" and self.problem):
                return rank
        return len(URGENCY)

    @property
    def state_counts(self) -> list[tuple[str, int]]:
        return [(state, self.states[state]) for state in HealthState.values if self.states[state]]


@dataclass
class AlertTotals:
    """Open alerts by subject, held back ones per source, and every open alert counted the one
    way (``alerts.pages.counts``) for the page's header and tab."""

    by_source: dict[int, OpenAlerts]
    by_deployment: dict[int, OpenAlerts]
    counts: AlertCounts
    held_by_source: dict[int, int] = field(default_factory=dict)


@dataclass
class StatusPage:
    sections: list[Section]
    states: dict[str, int]
    counts: AlertCounts
    window: TimeWindow
    ticks: list[Tick]
    shown: int
    options: dict[str, list[tuple[str, str]]]
    collapsed: bool = False  # deployments are collapsed and paginated (fleet size)
    page_number: int = 1
    pages: int = 1
    previous_query: str | None = None
    next_query: str | None = None

    @property
    def firing_critical(self) -> int:
        return self.counts.firing_critical

    @property
    def firing_warning(self) -> int:
        return self.counts.firing_warning

    @property
    def acknowledged(self) -> int:
        return self.counts.acknowledged

    @property
    def tab_state(self) -> str:
        """The favicon's state: grey while some shown source cannot be vouched for."""
        return self.counts.tab_state(unknown=bool(self.states.get(HealthState.UNKNOWN)))


def build(filters: StatusFilters, now: datetime, with_options: bool = True) -> StatusPage:
    deployments = {d.pk: d for d in Deployment.objects.all()}
    rows = source_rows(filters, now)
    totals = open_alerts()
    names = {pk: d.name for pk, d in deployments.items()}
    shown = [row for row in rows if matches(filters, row, names)] if filters.active else rows
    sections = plan(shown, deployments, filters, totals, now)
    size = sum(row["n"] for row in shown)
    fleet = size > COLLAPSE_ABOVE
    page = StatusPage(
        sections=sections,
        states=Counter(),
        counts=totals.counts,
        window=TimeWindow.ending(TimelineWindow(filters.window), now),
        ticks=[],
        shown=size,
        options=filter_options(rows, deployments) if with_options else {},
        collapsed=fleet,
    )
    page.ticks = ticks(page.window, timezone.get_current_timezone())
    states: Counter[str] = Counter()
    for row in shown:
        states[row["state"]] += row["n"]
    page.states = {state: states.get(state, 0) for state in HealthState.values}
    if fleet:
        paginate(page, filters)
    fill(page, shown, filters, deployments, totals, now)
    return page


def source_rows(filters: StatusFilters, now: datetime) -> list[dict[str, Any]]:
    """The visible sources as their states need them, counted in SQL: one row per deployment,
    group, pause and recent success (``n`` sources), and one row per source with an open alert
    (``source``, its pk), whose state its alerts decide. Ten thousand sources make a few hundred
    rows. A tag or owner filter reads JSON, matched in Python: then one row per source."""
    query = Source.objects.filter(is_gone=False, is_asset_job=False)
    if filters.tag or filters.owner:
        rows = list(
            query.order_by("deployment_id", "group_name", "key").values(
                *HEALTH_FIELDS, *FILTER_FIELDS, recent=recent_success(now)
            )
        )
        for row in rows:
            row["n"], row["source"] = 1, row["pk"]
        return rows
    alerted = Alert.objects.filter(state__in=VISIBLE_ALERT_STATES, source__isnull=False)
    return list(
        query.values(
            "deployment_id",
            "group_name",
            "paused",
            recent=recent_success(now),
            source=Case(
                When(pk__in=alerted.values("source_id"), then=F("pk")),
                default=None,
                output_field=IntegerField(),
            ),
        )
        .annotate(n=Count("pk"))
        .order_by("deployment_id", "group_name")
    )


def plan(
    rows: list[dict[str, Any]],
    deployments: dict[int, Deployment],
    filters: StatusFilters,
    totals: AlertTotals,
    now: datetime,
) -> list[Section]:
    """Sections per deployment (every deployment, even without sources, unless filtered out),
    then the pushed sources, each with the health of its shown sources (set on each row as
    ``state``) but no cells yet. The state alone, not its reason: ten thousand reasons would
    cost more than the rest of the page."""
    sections: dict[int | None, Section] = {}
    for pk, d in sorted(deployments.items(), key=lambda item: item[1].name):
        if not filters.active or (filters.deployment == d.name and not source_filtered(filters)):
            sections[pk] = deployment_section(d, totals, now)
    for row in rows:
        section = sections.get(row["deployment_id"])
        if section is None:
            owner = deployments.get(row["deployment_id"]) if row["deployment_id"] else None
            section = deployment_section(owner, totals, now)
            sections[row["deployment_id"]] = section
        row["state"] = source_state(
            paused=row["paused"],
            deployment_problem=section.problem,
            alerts=totals.by_source.get(row["source"], NO_ALERTS) if row["source"] else NO_ALERTS,
            recent_success=bool(row["recent"]),
        )
        section.states[row["state"]] += row["n"]
        section.size += row["n"]
    return sorted(sections.values(), key=lambda s: (s.deployment is None, s.title))


def recent_success(now: datetime) -> ExpressionWrapper:
    """Whether a source's last success is recent enough to vouch for it, computed by the
    database (``monitoring.status.RECENT_SUCCESS``): NULL, falsy, when it never succeeded."""
    return ExpressionWrapper(
        Q(last_success_at__gte=now - RECENT_SUCCESS), output_field=BooleanField()
    )


def paginate(page: StatusPage, filters: StatusFilters) -> None:
    """Collapse every deployment but the one opened (or filtered to), most urgent first, and keep
    the requested page of them."""
    ordered = sorted(page.sections, key=lambda s: s.urgency)  # stable: by name within a rank
    page.pages = max(1, -(-len(ordered) // SECTIONS_PER_PAGE))
    page.page_number = min(filters.page_number, page.pages)
    start = (page.page_number - 1) * SECTIONS_PER_PAGE
    page.sections = ordered[start : start + SECTIONS_PER_PAGE]
    for section in page.sections:
        section.collapsed = not filters.deployment and section.key != filters.open
        section.open_query = filters.query_string(open=section.key)
    if page.page_number > 1:
        page.previous_query = filters.query_string(page=str(page.page_number - 1))
    if page.page_number < page.pages:
        page.next_query = filters.query_string(page=str(page.page_number + 1))


def fill(
    page: StatusPage,
    shown: list[dict[str, Any]],
    filters: StatusFilters,
    deployments: dict[int, Deployment],
    totals: AlertTotals,
    now: datetime,
) -> None:
    """Load the full rows and runs of the sources shown as cells and group them in their
    sections."""
    by_key = {section_id(s): s for s in page.sections}
    opened = {key for key, section in by_key.items() if not section.collapsed}
    failing = {
        row["source"]
        for row in shown
        if row["source"] and row["state"] in FAILING and by_key.get(row["deployment_id"])
    }
    full: list[dict[str, Any]] = []
    failing_shown: Counter[int | None] = Counter()
    if opened or failing:
        names = {pk: d.name for pk, d in deployments.items()}
        for row in cell_rows(opened, failing, set(by_key), filters):
            if row["deployment_id"] in opened:
                full.append(row)
            elif row["pk"] in failing and failing_shown[row["deployment_id"]] < FAILING_CELLS_SHOWN:
                failing_shown[row["deployment_id"]] += 1
                full.append(row)
        if filters.active:
            full = [row for row in full if matches(filters, row, names)]
    for section in page.sections:
        if section.collapsed:
            section.hidden = section.size - failing_shown[section_id(section)]
    if not full:
        return
    runs = timeline_runs(filters, [row["pk"] for row in full], page.window, deployments)
    due = first_runs_due(full, now)
    url = reverse("alerts:source", kwargs={"slug": "SLUG"})
    placer = Placer(page.window, timezone.get_current_timezone())
    for row in full:
        section = by_key[row["deployment_id"]]
        if not section.groups or section.groups[-1].name != row["group_name"]:
            section.groups.append(Group(row["group_name"], []))
        cell = make_cell(row, url, section.problem, totals, now, due.get(row["pk"]))
        source_runs = runs.get(row["pk"], [])
        cell.bars = place_all(source_runs, placer)
        cell.capped = len(source_runs) >= RUNS_PER_SOURCE
        section.groups[-1].cells.append(cell)


def section_id(section: Section) -> int | None:
    return section.deployment.pk if section.deployment else None


def cell_rows(
    opened: set[int | None], failing: set[int], on_page: set[int | None], filters: StatusFilters
) -> list[dict[str, Any]]:
    """The full rows of the opened deployments' sources and of the failing ones (with an open
    alert) of the page's deployments, in the grid's order; the caller keeps those shown."""
    query = Source.objects.filter(is_gone=False, is_asset_job=False)
    if filters.group:
        query = query.filter(group_name=filters.group)
    listed = failing if len(failing) <= MAX_LISTED_SOURCES else set()
    wanted = Q(pk__in=listed) | in_deployments(opened if listed or not failing else on_page)
    rows = query.filter(wanted).order_by("deployment_id", "group_name", "key")
    return list(rows.values(*SOURCE_FIELDS, **SOURCE_TIMES))


def in_deployments(keys: set[int | None]) -> Q:
    """The sources of these deployments (``None``: the pushed sources)."""
    deployments = Q(deployment_id__in=[key for key in keys if key is not None])
    return deployments | Q(deployment_id__isnull=True) if None in keys else deployments


def first_runs_due(rows: list[dict[str, Any]], now: datetime) -> dict[int, datetime]:
    """When each shown source that never ran should first run, if a running schedule says."""
    never = [row for row in rows if row["ran"] is None and row["succeeded"] is None]
    if not never:
        return {}
    schedules = load_schedules({row["deployment_id"] for row in never if row["deployment_id"]})
    due = {row["pk"]: next_expected(schedules_of(row, schedules), now) for row in never}
    return {pk: expected.at for pk, expected in due.items() if expected}


def matches(filters: StatusFilters, row: dict[str, Any], names: dict[int, str]) -> bool:
    return filters.matches(
        names.get(row["deployment_id"]),
        row["group_name"],
        row.get("tags") or {},
        row.get("owner") or "",
        row.get("dagster_owners") or [],
    )


def open_alerts() -> AlertTotals:
    """Firing and acknowledged alerts, summed per subject and severity in one query. Those
    whose condition has cleared (waiting out their resolve hold) are summed apart, with when
    the last closes: a subject with nothing else open is recovering. The same rows, tallied,
    are the header's counts (``alerts.pages.counts``)."""
    rows = list(
        Alert.objects.filter(state__in=VISIBLE_ALERT_STATES)
        .values(
            "source_id",
            "deployment_id",
            "severity",
            "state",
            clearing=CLEARING,
            held=HELD,
            **INCIDENT_FIELDS,
        )
        .annotate(n=Count("pk"), example=Min("rule__name"), closes=Max(CLOSES))
        .order_by()
    )
    per_subject: dict[tuple[str, int], dict[str, Any]] = defaultdict(dict)
    held: Counter[int] = Counter()
    for row in rows:
        subject = ("s", row["source_id"]) if row["source_id"] else ("d", row["deployment_id"])
        add_row(per_subject[subject], row)
        if row["source_id"] and row["held"] and row["state"] == AlertState.FIRING:
            held[row["source_id"]] += row["n"]
    by: dict[str, dict[int, OpenAlerts]] = {"s": {}, "d": {}}
    for (kind, pk), counts in per_subject.items():
        by[kind][pk] = summarise(counts)
    return AlertTotals(by["s"], by["d"], tally(rows), dict(held))


def add_row(counts: dict[str, Any], row: dict[str, Any]) -> None:
    """Add one grouped row to its subject's sums."""
    counts[row["severity"]] = counts.get(row["severity"], 0) + row["n"]
    counts.setdefault(f"example_{row['severity']}", row["example"])
    if row["clearing"]:
        counts["clearing"] = counts.get("clearing", 0) + row["n"]
        counts["closes"] = max(counts.get("closes", 0.0), row["closes"])
    if row["state"] == AlertState.FIRING:
        counts[f"firing_{row['severity']}"] = True


def summarise(counts: dict[str, Any]) -> OpenAlerts:
    summary = OpenAlerts(
        critical=counts.get("critical", 0),
        warning=counts.get("warning", 0),
        info=counts.get("info", 0),
    )
    worst = summary.worst or "info"
    recovering = counts.get("clearing", 0) == summary.total
    return OpenAlerts(
        critical=summary.critical,
        warning=summary.warning,
        info=summary.info,
        acknowledged=0 if counts.get(f"firing_{worst}") else counts.get(worst, 0),
        example=counts.get(f"example_{worst}") or "",
        closes_at=moment(counts["closes"]) if recovering else None,
    )


def timeline_runs(
    filters: StatusFilters,
    source_ids: list[int],
    window: TimeWindow,
    deployments: dict[int, Deployment],
) -> dict[int, list[TimelineRun]]:
    """The runs of the shown sources created in the window, newest first, capped per source."""
    if not source_ids:
        return {}
    query = RunAsset.objects.filter(run_created_at__gte=window.start)
    if len(source_ids) <= MAX_LISTED_SOURCES:
        # A list lets the database seek the (source, -run_created_at) index once per source.
        query = query.filter(source_id__in=source_ids)
    else:
        query = query.filter(source__is_gone=False, source__is_asset_job=False)
    ranked = (
        query.annotate(
            began=Epoch(Coalesce("run__started_at", "run__created_at", "run_created_at")),
            ended=Epoch("run__ended_at"),
            rank=Window(
                RowNumber(),
                partition_by=[F("source_id")],
                order_by=[F("run_created_at").desc(), F("pk").desc()],
            ),
        )
        .filter(rank__lte=RUNS_PER_SOURCE)
        .order_by("source_id", "-run_created_at", "-pk")
        .values_list("pk", *RUN_FIELDS)
    )
    runs: dict[int, list[TimelineRun]] = defaultdict(list)
    for row in ranked:
        runs[row[1]].append(timeline_run(row, deployments))
    return runs


def timeline_run(row: tuple[Any, ...], deployments: dict[int, Deployment]) -> TimelineRun:
    (pk, _, outcome, run_id, dep, status, started, ended, duration, retry, error, partition) = row
    deployment = deployments.get(dep) if dep else None
    return TimelineRun(
        key=f"run-{pk}",
        status=status,
        outcome=outcome,
        started=started,
        ended=ended,
        duration_s=duration,
        will_retry=retry,
        error=error,
        url=deployment.run_url(run_id) if deployment else "",
        partition=partition,
    )


def source_filtered(filters: StatusFilters) -> bool:
    return bool(filters.group or filters.tag or filters.owner)


def deployment_section(d: Deployment | None, totals: AlertTotals, now: datetime) -> Section:
    if d is None:
        return Section(PUSHED, "Pushed sources", None, "", OpenAlerts(), [])
    problem = deployment_problem(
        d.enabled, d.last_success_at, d.consecutive_failures, d.failing_since, now
    )
    return Section(d.name, d.name, d, problem, totals.by_deployment.get(d.pk, OpenAlerts()), [])


def make_cell(
    row: dict[str, Any],
    url: str,
    problem: str,
    totals: AlertTotals,
    now: datetime,
    next_run_at: datetime | None,
) -> Cell:
    alerts = totals.by_source.get(row["pk"], OpenAlerts())
    ran, succeeded = moment(row["ran"]), moment(row["succeeded"])
    health = source_health(
        paused=row["paused"],
        deployment_problem=problem,
        alerts=alerts,
        last_run_at=ran,
        last_success_at=succeeded,
        now=now,
        next_run_at=next_run_at,
    )
    failing = health.state in ("critical", "warning")
    metrics = row["last_metrics"] or {}
    key = source_volume_key(row["volume_metric"], row["metric_keys"] or {}, metrics)
    count = metrics.get(key or "")
    return Cell(
        slug=row["slug"],
        key=row["key"],
        url=url.replace("SLUG", row["slug"]),
        health=health,
        last_run=since(ran, now),
        last_status=(row["last_status"] or "").lower(),
        count=number(count) if count is not None else "—",
        fresh=since(succeeded, now),
        acknowledged=bool(alerts.acknowledged) and failing,
        silenced=failing and 0 < alerts.total == totals.held_by_source.get(row["pk"], 0),
    )


def moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def filter_options(
    rows: list[dict[str, Any]], deployments: dict[int, Deployment]
) -> dict[str, list[tuple[str, str]]]:
    """Choices for the filter form, from every visible source (not only the shown ones); the
    tags and owners from their distinct values, read in one query (few, even in a fleet)."""
    names = sorted(d.name for d in deployments.values())
    choices = [(name, name) for name in names]
    if any(row["deployment_id"] is None for row in rows):
        choices.append((PUSHED, "Pushed sources"))
    groups = sorted({row["group_name"] for row in rows if row["group_name"]})
    distinct = list(
        Source.objects.filter(is_gone=False, is_asset_job=False)
        .values_list(*FILTER_FIELDS)
        .order_by()
        .distinct()
    )
    tags = sorted({f"{k}={v}" for tagged, _, _ in distinct for k, v in (tagged or {}).items()})
    owners = {owner for _, owner, _ in distinct if owner}
    owners |= {o for _, _, listed in distinct for o in listed or [] if isinstance(o, str)}
    return {
        "deployment": choices,
        "group": [(g, g) for g in groups],
        "tag": [(t, t) for t in tags],
        "owner": [(o, o) for o in sorted(owners)],
    }
