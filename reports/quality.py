"""Alert quality per rule: how many messages an incident cost, how fast someone acknowledged
and resolved it, how often it flapped, how often nobody acknowledged it (issue 15).

The one home of these figures: the daily report (``reports.data`` and ``reports.builder``) and
``/metrics`` (``confops.runtime.metrics``, over a trailing week) both read ``rule_quality``.

Definitions, for a period ``[start, end)``:

- a rule's *incidents* are the distinct incidents opened in the period having at least one
  alert of that rule; the overall line counts each incident once;
- *messages* are the incident's outbox rows that were not cancelled or failed, counted per
  channel: rows divided by the channels they went to, so three channels told of one message
  count one (the issue's "messages per channel per incident"). A rule's messages are those of
  its incidents that list one of its alerts (``Notification.alerts``);
- time to acknowledge and to resolve are medians over the incidents acknowledged (resolved),
  from the incident's opening;
- *flapping*: the incident was recognised as flapping (``flapping_since``);
- *never acknowledged*: no acknowledgement, whether resolved since or still open.

Two queries whatever the number of alerts, rules or incidents: one row per incident, one per
(rule, incident) pair with its message counts; the rest is one pass in Python.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q

from alerts.choices import NotificationStatus
from alerts.models import Alert, Incident

# Rows that never reached anyone are not messages.
NOT_MESSAGES = (NotificationStatus.CANCELLED, NotificationStatus.FAILED)


@dataclass(frozen=True)
class IncidentFacts:
    """One incident opened in the period, with what it cost in messages (per channel)."""

    id: int
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    flapping: bool
    messages: float


@dataclass(frozen=True)
class RuleQuality:
    """The figures of one rule (or of all rules together: ``rule`` empty) over a period."""

    rule: str
    incidents: int
    messages: float
    messages_per_incident: float
    median_ack_s: float | None
    median_resolve_s: float | None
    flapping: int
    flapping_ratio: float
    unacknowledged: int


@dataclass(frozen=True)
class QualityFigures:
    overall: RuleQuality
    rules: list[RuleQuality]  # worst (most messages per incident) first


def rule_quality(start: datetime, end: datetime) -> QualityFigures:
    """The figures of the incidents opened in ``[start, end)``, per rule and overall."""
    incidents = incident_facts(start, end)
    pairs = rule_messages(start, end)
    return summarise(incidents, pairs)


def per_channel(rows: int, channels: int) -> float:
    return rows / channels if channels else float(rows)


def message_count(prefix: str, incident_field: str) -> tuple[Count, Count]:
    """Outbox rows (and their channels) of ``prefix`` that belong to the incident and count."""
    sent = Q(**{f"{prefix}incident": F(incident_field)}) & ~Q(
        **{f"{prefix}status__in": NOT_MESSAGES}
    )
    return (
        Count(f"{prefix}pk", filter=sent, distinct=True),
        Count(f"{prefix}channel", filter=sent, distinct=True),
    )


def incident_facts(start: datetime, end: datetime) -> list[IncidentFacts]:
    rows_count, channels_count = message_count("notifications__", "pk")
    rows = (
        Incident.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .values("pk", "opened_at", "acknowledged_at", "resolved_at", "flapping_since")
        .annotate(rows=rows_count, channels=channels_count)
        .order_by()
    )
    return [
        IncidentFacts(
            id=row["pk"],
            opened_at=row["opened_at"],
            acknowledged_at=row["acknowledged_at"],
            resolved_at=row["resolved_at"],
            flapping=row["flapping_since"] is not None,
            messages=per_channel(row["rows"], row["channels"]),
        )
        for row in rows
    ]


def rule_messages(start: datetime, end: datetime) -> list[tuple[str, int, float]]:
    """(rule name, incident id, messages listing an alert of that rule) per pair."""
    rows_count, channels_count = message_count("notifications__", "incident_id")
    rows = (
        Alert.objects.filter(incident__opened_at__gte=start, incident__opened_at__lt=end)
        .values("rule__name", "incident_id")
        .annotate(rows=rows_count, channels=channels_count)
        .order_by()
    )
    return [
        (row["rule__name"], row["incident_id"], per_channel(row["rows"], row["channels"]))
        for row in rows
    ]


def summarise(
    incidents: list[IncidentFacts], pairs: Iterable[tuple[str, int, float]]
) -> QualityFigures:
    """Pure: the figures from the incidents and the (rule, incident, messages) pairs."""
    by_id = {incident.id: incident for incident in incidents}
    members: dict[str, list[tuple[IncidentFacts, float]]] = defaultdict(list)
    for rule, incident_id, messages in pairs:
        if incident_id in by_id:
            members[rule].append((by_id[incident_id], messages))
    rules = [figures(rule, chosen) for rule, chosen in members.items()]
    rules.sort(key=lambda q: (-q.messages_per_incident, -q.incidents, q.rule))
    overall = figures("", [(incident, incident.messages) for incident in incidents])
    return QualityFigures(overall=overall, rules=rules)


def figures(rule: str, chosen: list[tuple[IncidentFacts, float]]) -> RuleQuality:
    incidents = [incident for incident, _ in chosen]
    messages = sum(count for _, count in chosen)
    acks = [
        (i.acknowledged_at - i.opened_at).total_seconds()
        for i in incidents
        if i.acknowledged_at is not None
    ]
    resolves = [(i.resolved_at - i.opened_at).total_seconds() for i in incidents if i.resolved_at]
    flapping = sum(1 for i in incidents if i.flapping)
    total = len(incidents)
    return RuleQuality(
        rule=rule,
        incidents=total,
        messages=messages,
        messages_per_incident=messages / total if total else 0.0,
        median_ack_s=statistics.median(acks) if acks else None,
        median_resolve_s=statistics.median(resolves) if resolves else None,
        flapping=flapping,
        flapping_ratio=flapping / total if total else 0.0,
        unacknowledged=total - len(acks),
    )
