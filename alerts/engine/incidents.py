"""Which incident an alert belongs to, and when an incident closes (docs/incidents.md).

A firing alert joins, in this order:

1. its cause's incident, when it is folded into a failure (a stale source whose runs fail);
2. the open incident of its own source (or deployment): a second rule about the same failure.
   If that incident was quiet (every member recovered, waiting out its settle time), the failure
   came back: a flap, and the incident is flapping from then on;
3. a storm: an open incident opened within ``STORM_WINDOW`` whose members share a cause with
   it (the same run, the same backfill, the same error signature, a failing upstream source,
   or the same deployment for failures and for one rule firing on many sources); an open
   incident of the same backfill however long ago it opened (a backfill runs for hours);
4. else a new incident.

An incident closes once every member has resolved and its settle time after the recovery has
passed: for a source that runs at least every two hours, its next run and a grace (so an hourly
flap is one incident), twice that when it is flapping (closed once stable); otherwise at once.
"""

from __future__ import annotations

import functools
import itertools
import re
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from alerts.choices import OPEN_INCIDENT_STATES, OPEN_STATES, SEVERITY_RANK, Severity
from alerts.engine import history
from alerts.engine.locks import hold_until_commit
from alerts.models import Alert, Incident
from monitoring.models import RunAsset, Source

STORM_WINDOW = timedelta(minutes=15)
# The database lock under which alerts are put into incidents (``assign``).
INCIDENT_ASSIGNMENT = "confops:incident-assignment"
# Sources running at least this often can flap within one incident's settle time.
SHORT_INTERVAL = timedelta(hours=2)
# After a source's next expected run, this share of its interval (5 to 30 min) before it
# counts as not come: when a reminder is due, and when a recovered incident may close.
NEXT_RUN_GRACE_SHARE = 0.1
NEXT_RUN_GRACE = (timedelta(minutes=5), timedelta(minutes=30))
FLAPPING_SETTLE_FACTOR = 2
FLAPPING_SETTLE_UNKNOWN = timedelta(hours=1)
INTERVAL_SAMPLE = 9  # runs read to estimate a source's interval

VOLATILE = re.compile(
    r"0x[0-9a-f]+|[0-9a-f]{8}-[0-9a-f-]{27,}|\b[0-9a-f]{12,}\b|\d+(?:[.:]\d+)*|'[^']*'|\"[^\"]*\""
)


@dataclass
class Joined:
    """What one pass changed in an incident: the alerts that joined it, and whether it is new,
    came back while recovering, or has just begun flapping."""

    incident: Incident
    alerts: list[Alert] = field(default_factory=list)
    new: bool = False
    returned: bool = False
    began_flapping: bool = False
    grew: bool = False

    @property
    def new_sources(self) -> bool:
        return any(
            a.source_id != self.incident.source_id and a.folded_into_id is None for a in self.alerts
        )


@functools.lru_cache(maxsize=4096)
def signature(error: str) -> str:
    """An error's first line with its volatile parts (numbers, ids, quoted values) blanked, so
    40 scrapers failing on the same proxy share one signature."""
    first = next((line.strip() for line in error.splitlines() if line.strip()), "")
    return VOLATILE.sub("…", first.lower())[:160]


def error_of(alert: Alert) -> str:
    return str((alert.details or {}).get("error") or "")


def assign(alerts: Iterable[Alert], now: datetime) -> dict[int, Joined]:
    """Put each alert without an incident into one; returns what changed, by incident id.

    Shards judged at once on two workers may fire alerts of one storm (a shared error across
    deployments): they take turns here until commit, so the second sees the first's incident
    and joins it instead of opening (and paging) a second one."""
    changed: dict[int, Joined] = {}
    known: Known = {}
    waiting = [a for a in alerts if a.incident_id is None and a.state in OPEN_STATES]
    if waiting:
        hold_until_commit(INCIDENT_ASSIGNMENT)
    for alert in waiting:
        joined = join(alert, now, changed, known)
        alert.incident = joined.incident
        alert.save(update_fields=["incident"])
        joined.alerts.append(alert)
        changed[joined.incident.pk] = joined
        remember(known, joined, alert)
    for joined in changed.values():
        refresh_severity(joined.incident)
    return changed


# The open members of the incidents one ``assign`` pass looked at, by incident id: read once
# each and kept up to date as alerts join. Read anew for every alert, the members of a growing
# storm made a storm quadratic (500 failures: about 125,000 alert rows read, minutes of CPU).
Known = dict[int, list[Alert]]


def remember(known: Known, joined: Joined, alert: Alert) -> None:
    """The alert is a member of its incident now: add it where the pass keeps that incident's
    members (in the database's order, newest first)."""
    if joined.new:
        known.setdefault(joined.incident.pk, [])
    kept = known.get(joined.incident.pk)
    if kept is not None:
        kept.append(alert)
        kept.sort(key=lambda a: a.opened_at, reverse=True)


def join(alert: Alert, now: datetime, changed: dict[int, Joined], known: Known) -> Joined:
    cause = alert.folded_into
    if cause is not None and cause.incident_id is not None:
        return joined_to(cause.incident_id, changed)
    own = own_incident(alert)
    if own is not None and (still_failing(own) or returns_to(own, alert)):
        joined = changed.get(own.pk) or Joined(own)
        if own.quiet_since is not None:
            came_back(joined, now)
        return joined
    storm = storm_incident(alert, now, known)
    if storm is not None:
        joined = changed.get(storm.pk) or Joined(storm)
        together = [*members(joined.incident, known), alert]
        joined.incident.cause = shared_cause(together)
        joined.incident.title = title_of(joined.incident, together)
        joined.incident.save(update_fields=["cause", "title"])
        return joined
    incident = Incident.objects.create(
        title=title_of(None, [alert]),
        severity=alert.severity,
        source_id=alert.source_id,
        deployment_id=alert.deployment_id,
        opened_at=now,
    )
    return Joined(incident, new=True)


def joined_to(incident_id: int, changed: dict[int, Joined]) -> Joined:
    if incident_id in changed:
        return changed[incident_id]
    return Joined(Incident.objects.get(pk=incident_id))


def own_incident(alert: Alert) -> Incident | None:
    """The open incident of the alert's source (or, for an alert about a deployment or about
    confops, of that deployment or of confops), newest first."""
    incidents = Incident.objects.filter(state__in=OPEN_INCIDENT_STATES)
    if alert.source_id is not None:
        found = incidents.filter(alerts__source_id=alert.source_id)
    else:
        about = (
            {"alerts__deployment_id": alert.deployment_id}
            if alert.deployment_id is not None
            else {"alerts__deployment__isnull": True}
        )
        found = incidents.filter(alerts__source__isnull=True, **about)
    return found.order_by("-opened_at").first()


def still_failing(incident: Incident) -> bool:
    """Some member's condition still holds: a new alert on its source shares its cause. One
    that recovered explains nothing that happens after (an 80 % drop after a recovery is its
    own incident)."""
    return incident.alerts.filter(state__in=OPEN_STATES, clear_since__isnull=True).exists()


def returns_to(incident: Incident, alert: Alert) -> bool:
    """The same rule fails again while the incident recovers: a flap, not a new incident."""
    return incident.alerts.filter(rule_id=alert.rule_id).exists()


def came_back(joined: Joined, now: datetime) -> None:
    """A failure returned while its incident waited to close: the incident flaps."""
    incident = joined.incident
    incident.flaps += 1
    incident.quiet_since = incident.closes_at = None
    joined.returned = True
    fields = ["flaps", "quiet_since", "closes_at"]
    if incident.flapping_since is None:
        incident.flapping_since = now
        joined.began_flapping = True
        fields.append("flapping_since")
    incident.save(update_fields=fields)


def flapped(alerts: Iterable[Alert], now: datetime, changed: dict[int, Joined]) -> None:
    """Members whose condition came back while they recovered (within their resolve hold):
    their incident flaps, as when a failure returns while the incident waits to close."""
    for alert in alerts:
        if alert.incident_id is None or alert.suppressed:
            continue
        joined = joined_to(alert.incident_id, changed)
        if not joined.incident.is_open:
            continue
        came_back(joined, now)
        changed[joined.incident.pk] = joined


def grew(alerts: Iterable[Alert], changed: dict[int, Joined]) -> None:
    """Members told about whose failing partitions grew since (a backfill failing on): their
    incident has news for an update."""
    for alert in alerts:
        if alert.incident_id is None or alert.suppressed:
            continue
        joined = joined_to(alert.incident_id, changed)
        if joined.incident.is_open:
            joined.grew = True
            changed[joined.incident.pk] = joined


def storm_incident(alert: Alert, now: datetime, known: Known) -> Incident | None:
    """An open incident, opened within the storm window, whose members share a cause with this
    alert (only source alerts group: a deployment's own alert already inhibits its sources)."""
    if alert.source_id is None:
        return None
    same_backfill = backfill_incident(alert)
    if same_backfill is not None:
        return same_backfill
    recent = Incident.objects.filter(
        state__in=OPEN_INCIDENT_STATES,
        opened_at__gte=now - STORM_WINDOW,
        source__isnull=False,
        flapping_since__isnull=True,
    ).order_by("opened_at")
    upstream = set(
        Source.upstream.through.objects.filter(from_source_id=alert.source_id).values_list(
            "to_source_id", flat=True
        )
    )
    candidates = list(recent)
    read_members(candidates, known)
    for incident in candidates:
        if shares_cause(alert, failing_members(incident, known), upstream):
            return incident
    return None


def backfill_of(alert: Alert) -> str:
    return str((alert.details or {}).get("backfill_id") or "")


def backfill_incident(alert: Alert) -> Incident | None:
    """The open incident (not flapping) with a failing member from the same Dagster backfill:
    a backfill failing partitions of many assets over hours is one incident, not one per asset
    (its runs are far apart, beyond the storm window)."""
    backfill = backfill_of(alert)
    if not backfill:
        return None
    return (
        Incident.objects.filter(
            state__in=OPEN_INCIDENT_STATES,
            flapping_since__isnull=True,
            source__isnull=False,
            alerts__state__in=OPEN_STATES,
            alerts__clear_since__isnull=True,
            alerts__details__backfill_id=backfill,
        )
        .order_by("opened_at")
        .first()
    )


def failing_members(incident: Incident, known: Known) -> list[Alert]:
    """Members whose condition still holds: only they can share a cause with a new failure."""
    return [a for a in members(incident, known) if a.clear_since is None]


def members(incident: Incident, known: Known) -> list[Alert]:
    read_members([incident], known)
    return known[incident.pk]


def read_members(incidents: list[Incident], known: Known) -> None:
    """The open members of the incidents not read yet, in one query: a storm check compares a
    new failure with every recent incident of the fleet (91 of them, 91 queries per alert, at
    100 deployments with 2 % of runs failing)."""
    unread = [incident.pk for incident in incidents if incident.pk not in known]
    if not unread:
        return
    for pk in unread:
        known[pk] = []
    for alert in Alert.objects.filter(incident_id__in=unread, state__in=OPEN_STATES).select_related(
        "rule", "source__deployment"
    ):
        if alert.incident_id is not None:  # filtered above; the type cannot know
            known[alert.incident_id].append(alert)


def shares_cause(alert: Alert, others: list[Alert], upstream: set[int]) -> bool:
    mine = signature(error_of(alert))
    failure = alert.rule.kind_impl.cause
    for other in others:
        if alert.run_id and other.run_id == alert.run_id:
            return True
        if backfill_of(alert) and backfill_of(other) == backfill_of(alert):
            return True
        if mine and signature(error_of(other)) == mine:
            return True
        if other.source_id in upstream:
            return True
        same_deployment = (
            alert.deployment_id is not None and other.deployment_id == alert.deployment_id
        )
        # Failures in one deployment together, or one rule on many of its sources at once
        # (sources going stale together): one storm.
        if same_deployment and (
            (failure and other.rule.kind_impl.cause) or other.rule_id == alert.rule_id
        ):
            return True
    return False


def shared_cause(alerts: list[Alert]) -> str:
    """What the sources of a storm share, as the message names it."""
    sources = {a.source_id for a in alerts}
    if len(sources) < 2:
        return ""
    errors = {signature(error_of(a)) for a in alerts}
    if len(errors) == 1 and "" not in errors:
        first = next(error_of(a) for a in alerts)
        return f"same error: {first.strip().splitlines()[0][:200]}"
    runs = {a.run_id for a in alerts}
    if len(runs) == 1 and "" not in runs:
        return f"same run {next(iter(runs))[:8]}"
    backfills = {backfill_of(a) for a in alerts}
    if len(backfills) == 1 and "" not in backfills:
        return f"same backfill {next(iter(backfills))}"
    deployments = {a.deployment_id for a in alerts}
    if len(deployments) == 1 and None not in deployments:
        return f"same deployment: {alerts[0].deployment}"
    return "failing together"


def title_of(incident: Incident | None, alerts: list[Alert]) -> str:
    sources = {a.source_id for a in alerts}
    if len(sources) > 1:
        return f"{len(sources)} sources, {shared_cause(alerts)}"[:500]
    if incident is not None and incident.title:
        return incident.title
    return (alerts[0].summary if alerts else "incident")[:500]


def refresh_severity(incident: Incident) -> None:
    """The most severe open member's severity (it never drops while the incident is open: a
    recovering critical member still says what the incident was). Consequences folded into a
    member do not count: they are what the failure explains, listed with it."""
    levels = [
        a.severity for a in incident.alerts.filter(state__in=OPEN_STATES, folded_into__isnull=True)
    ]
    worst = max(levels, key=lambda s: SEVERITY_RANK[Severity(s)], default=incident.severity)
    if SEVERITY_RANK[Severity(worst)] > SEVERITY_RANK[Severity(incident.severity)]:
        incident.severity = worst
        incident.save(update_fields=["severity"])


def after_resolved(alerts: Iterable[Alert], now: datetime, by_hand: bool = False) -> list[Incident]:
    """Start the settle time of incidents whose last member resolved; returns those that close
    now (settle time zero, or resolved by hand: the operator said it is dealt with)."""
    closing = []
    for incident_id in {a.incident_id for a in alerts if a.incident_id is not None}:
        incident = Incident.objects.get(pk=incident_id)
        if not incident.is_open or incident.alerts.filter(state__in=OPEN_STATES).exists():
            continue
        if incident.quiet_since is None:
            recovered = max(
                (a.clear_since or a.resolved_at or now for a in incident.alerts.all()),
                default=now,
            )
            settle = timedelta(0) if by_hand else settle_time(incident)
            incident.quiet_since = now
            incident.closes_at = max(now, recovered + settle)
            incident.save(update_fields=["quiet_since", "closes_at"])
        if incident.closes_at is not None and incident.closes_at <= now:
            incident.resolve(now)
            closing.append(incident)
    return closing


def close_due(now: datetime) -> list[Incident]:
    """Quiet incidents whose settle time has passed: they close now."""
    due = list(Incident.objects.filter(state__in=OPEN_INCIDENT_STATES, closes_at__lte=now))
    for incident in due:
        incident.resolve(now)
    return due


def settle_time(incident: Incident) -> timedelta:
    """How long after its recovery a quiet incident stays open, so that a failure coming back
    at the next run joins it (a flap) instead of paging anew: a source running at least every
    two hours waits for its next run (one interval and a grace), twice that once flapping;
    others close at once (their resolve holds already ran)."""
    interval = typical_interval(incident.source_id)
    if interval is None or interval > SHORT_INTERVAL:
        return FLAPPING_SETTLE_UNKNOWN if incident.flapping else timedelta(0)
    settle = next_run_due(interval)
    return settle * FLAPPING_SETTLE_FACTOR if incident.flapping else settle


def next_run_due(interval: timedelta) -> timedelta:
    """How long after a moment the source's next run has surely come: its interval and a grace."""
    grace = min(max(interval * NEXT_RUN_GRACE_SHARE, NEXT_RUN_GRACE[0]), NEXT_RUN_GRACE[1])
    return interval + grace


def typical_interval(source_id: int | None) -> timedelta | None:
    """The median gap between the source's latest runs, or None with too few of them."""
    if source_id is None:
        return None
    times = [
        t
        for t in RunAsset.objects.filter(source_id=source_id, run_created_at__isnull=False)
        .order_by("-run_created_at")
        .values_list("run_created_at", flat=True)[:INTERVAL_SAMPLE]
        if t is not None
    ]
    return interval_of(times)


def typical_intervals(source_ids: Collection[int | None]) -> dict[int, timedelta]:
    """``typical_interval`` of many sources in two queries (the newest links bounded per
    source, as ``history.load_runs`` reads them), for a pass over every open incident: one
    query per incident was most of the reminder pass in a replayed fleet month. Sources with
    too few runs are left out."""
    ids = sorted({pk for pk in source_ids if pk is not None})
    if not ids:
        return {}
    ranked = (
        RunAsset.objects.filter(
            history.recent_links(ids, INTERVAL_SAMPLE), run_created_at__isnull=False
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("source_id")],
                order_by=[F("run_created_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=INTERVAL_SAMPLE)
        .order_by("source_id", "-run_created_at")
        .values_list("source_id", "run_created_at")
    )
    times: dict[int, list[datetime]] = {}
    for source_id, at in ranked:
        if at is not None:  # filtered above; the type cannot know
            times.setdefault(source_id, []).append(at)
    found = {pk: interval_of(moments) for pk, moments in times.items()}
    return {pk: interval for pk, interval in found.items() if interval is not None}


def interval_of(times: list[datetime]) -> timedelta | None:
    """The median gap between these moments (newest first); None with fewer than three."""
    if len(times) < 3:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(times) if a > b]
    return timedelta(seconds=statistics.median(gaps)) if gaps else None


def current_members(incident: Incident) -> list[Alert]:
    """The members a message lists: open, still failing (not recovering), not folded into
    another member (those show as its consequences) and not silenced."""
    return members_of([incident.pk])[incident.pk]


def members_of(incident_ids: Collection[int]) -> dict[int, list[Alert]]:
    """``current_members`` of many incidents in one query (a pass over every open incident
    read them one query each: a third of a replayed fleet month)."""
    members: dict[int, list[Alert]] = {pk: [] for pk in incident_ids}
    for alert in Alert.objects.filter(
        incident_id__in=list(members),
        state__in=OPEN_STATES,
        clear_since__isnull=True,
        folded_into__isnull=True,
        silenced_by__isnull=True,
        inhibited=False,
    ).select_related("rule", "source", "deployment"):
        if alert.fired_at is not None and alert.incident_id is not None:
            members[alert.incident_id].append(alert)
    return members
