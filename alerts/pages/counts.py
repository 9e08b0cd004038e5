"""How open alerts are counted: one classification for every page and scrape.

The status page's header, its grid, the alerts page's counters, the tab title, the favicon and
``/metrics`` all count firing, acknowledged, held back and recovering alerts here, so during a
maintenance window no page says "1 critical firing" while another says "0 firing, 2 held back".

An open alert falls in exactly one bucket, in this order: acknowledged (someone took it, cleared
or not); held back (firing, but a silence, an unreachable deployment or its cause keeps it from
paging); recovering (firing, its condition cleared, waiting out its resolve hold); firing (what
pages now). The status page sums the same buckets per source in its own grouped query
(``alerts.pages.status``), feeding its rows through :func:`tally`.

Incidents are what pages, so the tab title's "(2)" and "2 incidents firing" count incidents,
from the same rows: an incident is firing while it is open (not acknowledged) and at least one
member alert is in the firing bucket; a firing alert in no incident pages alone and counts as one.
An acknowledged incident counts as acknowledged; an open one whose members are all held back or
recovering counts as quiet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Case, Count, F, Q, Value, When

from alerts.choices import AlertState, IncidentState, Severity
from alerts.models import SUPPRESSED, Alert

COUNTED_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)
# Annotations that, with ``state``, place an alert in its bucket (grouped in SQL).
HELD = Case(When(SUPPRESSED, then=Value(True)), default=Value(False), output_field=BooleanField())
CLEARING = Case(
    When(clear_since__isnull=False, then=Value(True)),
    default=Value(False),
    output_field=BooleanField(),
)
# The incident an alert belongs to and its state, grouped with the buckets (null when in none).
INCIDENT_FIELDS = {"incident_ref": F("incident_id"), "incident_state": F("incident__state")}
FIRING, ACKNOWLEDGED, HELD_BACK, RECOVERING = "firing", "acknowledged", "held_back", "recovering"
BUCKETS = (FIRING, ACKNOWLEDGED, HELD_BACK, RECOVERING)
QUIET = "quiet"
INCIDENT_BUCKETS = (FIRING, ACKNOWLEDGED, QUIET)
# The worst state a tab's favicon shows; "unknown" when sources cannot be vouched for.
TAB_STATES = ("ok", "warning", "critical", "unknown")


def bucket(state: str, held: bool, clearing: bool) -> str:
    """The one bucket an open alert counts in (see the module's docstring for the order)."""
    if state == AlertState.ACKNOWLEDGED:
        return ACKNOWLEDGED
    if held:
        return HELD_BACK
    return RECOVERING if clearing else FIRING


def in_bucket(name: str) -> Q:
    """The alerts in one bucket, as a filter: what a list filtered on that bucket shows, so the
    alerts page's "firing" list holds what its "firing" counter counts."""
    firing = Q(state=AlertState.FIRING)
    return {
        ACKNOWLEDGED: Q(state=AlertState.ACKNOWLEDGED),
        HELD_BACK: firing & SUPPRESSED,
        RECOVERING: firing & ~SUPPRESSED & Q(clear_since__isnull=False),
        FIRING: firing & ~SUPPRESSED & Q(clear_since__isnull=True),
    }[name]


@dataclass(frozen=True)
class AlertCounts:
    """Open alerts per bucket and severity."""

    by_bucket: Mapping[tuple[str, str], int] = field(default_factory=dict)
    incidents: Mapping[str, int] = field(default_factory=dict)

    def of(self, bucket_name: str, severity: str | None = None) -> int:
        return sum(
            n for (b, s), n in self.by_bucket.items() if b == bucket_name and severity in (None, s)
        )

    @property
    def firing(self) -> int:
        return self.of(FIRING)

    @property
    def firing_critical(self) -> int:
        return self.of(FIRING, Severity.CRITICAL)

    @property
    def firing_warning(self) -> int:
        return self.of(FIRING, Severity.WARNING)

    @property
    def firing_info(self) -> int:
        return self.of(FIRING, Severity.INFO)

    @property
    def acknowledged(self) -> int:
        return self.of(ACKNOWLEDGED)

    @property
    def held_back(self) -> int:
        return self.of(HELD_BACK)

    @property
    def recovering(self) -> int:
        return self.of(RECOVERING)

    @property
    def incidents_firing(self) -> int:
        """Incidents paging now: what the tab title's "(N)" counts."""
        return self.incidents.get(FIRING, 0)

    def tab_state(self, unknown: bool = False) -> str:
        """The favicon's state: the worst firing severity; else unknown when some source cannot
        be vouched for; else ok. Held back, acknowledged and recovering alerts do not page."""
        if self.firing_critical:
            return "critical"
        if self.firing_warning:
            return "warning"
        return "unknown" if unknown else "ok"


def incident_bucket(state: str | None, member_buckets: set[str]) -> str:
    """The one bucket an open incident counts in (see the module's docstring)."""
    if state == IncidentState.ACKNOWLEDGED:
        return ACKNOWLEDGED
    return FIRING if FIRING in member_buckets else QUIET


def tally(rows: Iterable[Mapping[str, Any]]) -> AlertCounts:
    """Sum grouped rows (``severity``, ``state``, ``held``, ``clearing``, ``n`` and
    :data:`INCIDENT_FIELDS`) into alert buckets and incident buckets."""
    counts: Counter[tuple[str, str]] = Counter()
    members: dict[int, set[str]] = {}
    states: dict[int, str] = {}
    alone = 0
    for row in rows:
        name = bucket(row["state"], row["held"], row["clearing"])
        counts[(name, row["severity"])] += row["n"]
        ref = row.get("incident_ref")
        if ref is None:
            alone += row["n"] if name == FIRING else 0
        elif row.get("incident_state") != IncidentState.RESOLVED:
            members.setdefault(ref, set()).add(name)
            states[ref] = row["incident_state"]
    incidents = Counter(incident_bucket(states[ref], names) for ref, names in members.items())
    incidents[FIRING] += alone
    return AlertCounts(dict(counts), dict(incidents))


def alert_counts() -> AlertCounts:
    """Every open alert counted, in one grouped query."""
    rows = (
        Alert.objects.filter(state__in=COUNTED_STATES)
        .values("severity", "state", held=HELD, clearing=CLEARING, **INCIDENT_FIELDS)
        .annotate(n=Count("pk"))
        .order_by()
    )
    return tally(rows)


def tab_prefix(counts: AlertCounts) -> str:
    """ "(2) " while two incidents fire; nothing when none does."""
    firing = counts.incidents_firing
    return f"({firing}) " if firing else ""


def tab_title(label: str, counts: AlertCounts) -> str:
    """ "(2) Status · confops" while two incidents fire; no "(0)" when none does."""
    return f"{tab_prefix(counts)}{label} · confops"
