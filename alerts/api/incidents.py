"""Incidents: list, read (with the ids of their alerts), acknowledge, unacknowledge.

An incident is what pages: acknowledging it acknowledges every firing alert in it, through the
same door as the portal's button (``operations.acknowledge_incident``), audited as the token's
owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Body, Query, Router, Schema
from pydantic import Field

from alerts import operations
from alerts.api.alerts import AcknowledgeIn
from alerts.api.common import (
    CONFLICT,
    NOT_FOUND,
    actor,
    api_link,
    by_name_or_id,
    operate_auth,
    read_auth,
    username,
)
from alerts.choices import OPEN_INCIDENT_STATES, Severity
from alerts.models import Incident
from confops.common.api import (
    AUTH_ERRORS,
    ApiError,
    ErrorOut,
    Moment,
    PageOut,
    PageQuery,
    get_or_404,
    paginate,
)
from monitoring.models import Source

router = Router()


class IncidentOut(Schema):
    id: int
    title: str
    state: str
    recovering: bool = Field(description="Every alert in it is quiet; it closes at `closes_at`.")
    severity: str
    source: str | None
    deployment: str | None
    cause: str
    alert_count: int
    opened_at: datetime
    quiet_since: datetime | None
    closes_at: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    flapping: bool
    flapping_since: datetime | None
    flaps: int
    messages_sent: int
    links: dict[str, str]


class IncidentDetailOut(IncidentOut):
    alert_ids: list[int]


class IncidentPage(PageOut):
    results: list[IncidentOut]


IncidentStateFilter = Literal["open", "acknowledged", "resolved"]


class IncidentFilters(Schema):
    state: IncidentStateFilter | None = Field(
        None,
        description="`open` (open or acknowledged: not resolved), `acknowledged`, `resolved`.",
    )
    severity: Severity | None = None
    source: str | None = Field(None, description="A source's slug, key or id.")
    since: Moment | None = Field(None, description="Opened at or after this time.")


def incident_rows() -> QuerySet[Incident]:
    return Incident.objects.select_related("source", "deployment", "acknowledged_by").annotate(
        alert_count=Count("alerts")
    )


def incident_out(request: HttpRequest, incident: Any) -> dict[str, Any]:
    page = reverse("alerts:incident-detail", args=[incident.pk])
    return {
        "id": incident.pk,
        **{
            name: getattr(incident, name)
            for name in (
                "title",
                "state",
                "severity",
                "cause",
                "alert_count",
                "opened_at",
                "quiet_since",
                "closes_at",
                "resolved_at",
                "acknowledged_at",
                "flapping",
                "flapping_since",
                "flaps",
                "messages_sent",
            )
        },
        "recovering": incident.is_open and incident.quiet_since is not None,
        "source": incident.source.slug if incident.source else None,
        "deployment": incident.deployment.name if incident.deployment else None,
        "acknowledged_by": username(incident.acknowledged_by),
        "links": {
            "self": api_link(request, "incident-detail", incident.pk),
            "page": request.build_absolute_uri(page),
        },
    }


def filtered_incidents(filters: IncidentFilters) -> QuerySet[Incident]:
    incidents = incident_rows()
    if filters.state == "open":
        incidents = incidents.filter(state__in=OPEN_INCIDENT_STATES)
    elif filters.state:
        incidents = incidents.filter(state=filters.state)
    if filters.severity:
        incidents = incidents.filter(severity=filters.severity)
    if filters.source:
        source = by_name_or_id(Source, filters.source, "slug", "source", "source")
        # A subquery: a join on the alerts would multiply the alerts counted.
        incidents = incidents.filter(pk__in=Incident.objects.filter(alerts__source=source))
    if filters.since:
        incidents = incidents.filter(opened_at__gte=filters.since)
    return incidents.order_by("-opened_at", "-pk")


@router.get(
    "/incidents",
    auth=read_auth,
    response={200: IncidentPage, AUTH_ERRORS: ErrorOut},
    tags=["incidents"],
    summary="List incidents",
    description=(
        "Newest first. Filters: `state`, `severity`, `source` (an incident with an alert on it: "
        "slug, key or id), `since` (opened at or after)."
    ),
    url_name="incident-list",
)
def list_incidents(
    request: HttpRequest, filters: Query[IncidentFilters], page: Query[PageQuery]
) -> dict[str, Any]:
    rows, links = paginate(request, filtered_incidents(filters), page)
    return {**links, "results": [incident_out(request, incident) for incident in rows]}


def incident_detail(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    incident = get_or_404(incident_rows(), "incident", pk=incident_id)
    alert_ids = sorted(incident.alerts.values_list("pk", flat=True))
    return {**incident_out(request, incident), "alert_ids": alert_ids}


@router.get(
    "/incidents/{incident_id}",
    auth=read_auth,
    response={200: IncidentDetailOut, NOT_FOUND: ErrorOut},
    tags=["incidents"],
    summary="Read an incident with the ids of its alerts",
    url_name="incident-detail",
)
def read_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return incident_detail(request, incident_id)


def act(request: HttpRequest, incident_id: int, action: Any) -> dict[str, Any]:
    """Run ``action(incident, user, now, label)`` on the locked incident; a refused transition
    (one not open, not acknowledged) is a 409 with the reason, as in the portal."""
    user, label = actor(request)
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",))
        incident = get_or_404(locked, "incident", pk=incident_id)
        try:
            action(incident, user, timezone.now(), label)
        except DjangoValidationError as exc:
            raise ApiError(409, " ".join(exc.messages)) from exc
    return incident_detail(request, incident_id)


@router.post(
    "/incidents/{incident_id}/acknowledge",
    auth=operate_auth,
    response={200: IncidentDetailOut, CONFLICT: ErrorOut},
    tags=["incidents"],
    summary="Acknowledge an open incident and every firing alert in it",
    description="Stops its reminders and escalation. 409 unless it is open.",
    url_name="incident-acknowledge",
)
def acknowledge_incident(
    request: HttpRequest, incident_id: int, body: Body[AcknowledgeIn | None] = None
) -> dict[str, Any]:
    note = body.note if body else ""
    return act(
        request,
        incident_id,
        lambda incident, user, now, label: operations.acknowledge_incident(
            incident, user, note, now, label
        ),
    )


@router.post(
    "/incidents/{incident_id}/unacknowledge",
    auth=operate_auth,
    response={200: IncidentDetailOut, CONFLICT: ErrorOut},
    tags=["incidents"],
    summary="Unacknowledge an incident",
    description="Back to open with its alerts firing; reminders restart from now. 409 unless "
    "it is acknowledged.",
    url_name="incident-unacknowledge",
)
def unacknowledge_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return act(request, incident_id, operations.unacknowledge_incident)
