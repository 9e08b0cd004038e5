"""An incident's page (what pages: its member alerts and the messages sent about it) and
acknowledging it: one click acknowledges every firing alert in it, through the one door."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts import operations
from alerts.choices import OPEN_INCIDENT_STATES, IncidentState
from alerts.forms import AcknowledgeForm
from alerts.models import Incident
from alerts.views.common import context_with, needs, safe_next, see_other
from confops.common import htmx


def incident_rows() -> QuerySet[Incident]:
    """Incidents with what a row shows (members counted in SQL), in one query."""
    return Incident.objects.select_related("source", "deployment", "acknowledged_by").annotate(
        member_count=Count("alerts")
    )


def open_incidents() -> list[Incident]:
    """Open and acknowledged incidents, open ones first, then the newest: what the alerts page
    lists above the alerts."""
    rows = incident_rows().filter(state__in=OPEN_INCIDENT_STATES)
    return sorted(rows, key=lambda i: (i.state != IncidentState.OPEN, -i.opened_at.timestamp()))


def incident_context(request: HttpRequest, incident: Incident, **values: Any) -> dict[str, Any]:
    return context_with(
        request,
        incident=incident,
        members=incident.alerts.select_related("rule", "source", "deployment").order_by(
            "opened_at", "pk"
        ),
        notifications=incident.notifications.select_related("channel").order_by("created_at"),
        now=timezone.now(),
        **values,
    )


@needs("alerts.view_alert")
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(incident_rows(), pk=pk)
    return render(request, "alerts/incident_detail.html", incident_context(request, incident))


# Actions: a POST answered with the incident's head (htmx) or a redirect (no JavaScript).

Action = Callable[[Incident, datetime], Any]


def act(request: HttpRequest, pk: int, action: Action, done: str) -> HttpResponse:
    """Run ``action`` on the locked incident; a refused transition answers 409 with the head."""
    error = ""
    with transaction.atomic():
        incident = get_object_or_404(Incident.objects.select_for_update(), pk=pk)
        try:
            action(incident, timezone.now())
        except ValidationError as exc:
            error = " ".join(exc.messages)
    back = safe_next(request, reverse("alerts:incident-detail", args=[pk]))
    if not htmx.partial(request):
        (messages.error if error else messages.success)(request, error or done)
        return htmx.vary(see_other(back))
    fresh = get_object_or_404(incident_rows(), pk=pk)
    context = incident_context(request, fresh, notice="" if error else done, error=error)
    context["next_url"] = back
    return htmx.vary(
        render(
            request,
            "alerts/partials/incident_head.html",
            context,
            status=409 if error else 200,
        )
    )


@require_POST
@needs("alerts.acknowledge_alert")
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    form = AcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return act(
        request,
        pk,
        lambda incident, now: operations.acknowledge_incident(incident, request.user, note, now),
        "Acknowledged with all its alerts",
    )


@require_POST
@needs("alerts.acknowledge_alert")
def unacknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return act(
        request,
        pk,
        lambda incident, now: operations.unacknowledge_incident(incident, request.user, now),
        "Unacknowledged",
    )
