"""Alerts as the operator UI finds them: of a default rule, on a source or a deployment, and the
incidents that gather them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from alerts.choices import AlertState, IncidentState
from alerts.models import Alert, AlertRule, Incident
from monitoring.models import Deployment, Source


def incident(
    rule_name: str,
    src: Source | None = None,
    state: str = AlertState.FIRING,
    at: datetime | None = None,
    dep: Deployment | None = None,
    **fields: Any,
) -> Alert:
    rule = AlertRule.objects.get(name=rule_name)
    at = at or timezone.now() - timedelta(minutes=10)
    fields.setdefault("severity", rule.severity)
    fields.setdefault("summary", f"{rule_name} on {src.key if src else dep}")
    return Alert.objects.create(
        rule=rule,
        source=src,
        deployment=dep,
        state=state,
        opened_at=at,
        condition_since=at,
        fired_at=None if state == AlertState.PENDING else at,
        last_seen_at=at,
        **fields,
    )


def incident_of(
    title: str, *members: Alert, state: str = IncidentState.OPEN, **fields: Any
) -> Incident:
    """An incident gathering ``members`` (as alerts/engine/incidents.py would have joined them)."""
    first = members[0] if members else None
    fields.setdefault("severity", first.severity if first else "warning")
    fields.setdefault("source", first.source if first else None)
    fields.setdefault("opened_at", first.opened_at if first else timezone.now())
    made = Incident.objects.create(title=title, state=state, **fields)
    Alert.objects.filter(pk__in=[a.pk for a in members]).update(incident=made)
    return made
