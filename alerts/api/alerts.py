"""Alerts: list, read, acknowledge, unacknowledge, resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Body, Query, Router, Schema
from pydantic import Field

from alerts import operations
from alerts.api.common import (
    CONFLICT,
    MAX_INT,
    NOT_FOUND,
    StrictIn,
    actor,
    api_link,
    by_name_or_id,
    operate_auth,
    read_auth,
    username,
)
from alerts.choices import OPEN_STATES, AlertState, Severity
from alerts.models import SUPPRESSED, Alert
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


class AlertEventOut(Schema):
    kind: str
    at: datetime
    actor: str | None
    note: str
    data: dict[str, Any]


class AlertOut(Schema):
    id: int
    rule_id: int
    rule: str
    kind: str
    source: str | None
    deployment: str | None
    state: str
    severity: str
    summary: str
    details: dict[str, Any]
    run_id: str
    run_url: str
    opened_at: datetime
    fired_at: datetime | None
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str
    resolved_at: datetime | None
    resolved_how: str
    resolved_by: str | None
    occurrences: int
    suppressed: bool
    silenced_by: int | None
    inhibited: bool
    runbook: str | None
    links: dict[str, str]


class AlertDetailOut(AlertOut):
    events: list[AlertEventOut]


class AlertPage(PageOut):
    results: list[AlertOut]


AlertStateFilter = Literal["open", "pending", "firing", "acknowledged", "held_back", "resolved"]


class AlertFilters(Schema):
    state: AlertStateFilter | None = Field(
        None,
        description=(
            "`open` (pending, firing or acknowledged), `firing` (and told), `held_back` (firing "
            "but silenced, inhibited or folded), `pending`, `acknowledged`, `resolved`."
        ),
    )
    severity: Severity | None = None
    rule: int | None = Field(None, ge=1, le=MAX_INT, description="A rule's id.")
    source: str | None = Field(None, description="A source's slug, key or id.")
    deployment: str | None = Field(None, description="A deployment's name.")
    since: Moment | None = Field(None, description="Opened at or after this time.")


def alert_rows() -> QuerySet[Alert]:
    return Alert.objects.select_related(
        "rule", "rule__runbook", "source", "deployment", "acknowledged_by", "resolved_by"
    )


def alert_out(request: HttpRequest, alert: Alert) -> dict[str, Any]:
    runbook = alert.rule.runbook.slug if alert.rule.runbook else None
    if runbook is None and alert.source is not None:
        runbook = alert.source.runbook_slug or None
    return {
        "id": alert.pk,
        "rule_id": alert.rule_id,
        "rule": alert.rule.name,
        "kind": alert.rule.kind,
        "source": alert.source.slug if alert.source else None,
        "deployment": alert.deployment.name if alert.deployment else None,
        **{
            name: getattr(alert, name)
            for name in (
                "state",
                "severity",
                "summary",
                "details",
                "run_id",
                "run_url",
                "opened_at",
                "fired_at",
                "last_seen_at",
                "acknowledged_at",
                "ack_note",
                "resolved_at",
                "resolved_how",
                "occurrences",
                "suppressed",
                "silenced_by_id",
                "inhibited",
            )
        },
        "silenced_by": alert.silenced_by_id,
        "acknowledged_by": username(alert.acknowledged_by),
        "resolved_by": username(alert.resolved_by),
        "runbook": runbook,
        "links": {
            "self": api_link(request, "alert-detail", alert.pk),
            "page": request.build_absolute_uri(reverse("alerts:alert-detail", args=[alert.pk])),
        },
    }


def filtered_alerts(filters: AlertFilters) -> QuerySet[Alert]:
    alerts = alert_rows()
    state = filters.state
    if state == "open":
        alerts = alerts.filter(state__in=OPEN_STATES)
    elif state == AlertState.FIRING:
        alerts = alerts.filter(state=AlertState.FIRING).exclude(SUPPRESSED)
    elif state == "held_back":
        alerts = alerts.filter(SUPPRESSED, state=AlertState.FIRING)
    elif state:
        alerts = alerts.filter(state=state)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.rule:
        alerts = alerts.filter(rule_id=filters.rule)
    if filters.source:
        alerts = alerts.filter(
            source=by_name_or_id(Source, filters.source, "slug", "source", "source")
        )
    if filters.deployment:
        name = filters.deployment
        alerts = alerts.filter(Q(deployment__name=name) | Q(source__deployment__name=name))
    if filters.since:
        alerts = alerts.filter(opened_at__gte=filters.since)
    return alerts.order_by("-opened_at", "-pk")


@router.get(
    "/alerts",
    auth=read_auth,
    response={200: AlertPage, AUTH_ERRORS: ErrorOut},
    tags=["alerts"],
    summary="List alerts",
    description=(
        "Newest first. Filters: `state`, `severity`, `rule` (id), `source` (slug, key or id), "
        "`deployment` (name), `since` (opened at or after)."
    ),
    url_name="alert-list",
)
def list_alerts(
    request: HttpRequest, filters: Query[AlertFilters], page: Query[PageQuery]
) -> dict[str, Any]:
    rows, links = paginate(request, filtered_alerts(filters), page)
    return {**links, "results": [alert_out(request, alert) for alert in rows]}


def alert_detail(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    alert = get_or_404(alert_rows(), "alert", pk=alert_id)
    events = [
        {"kind": e.kind, "at": e.at, "actor": username(e.actor), "note": e.note, "data": e.data}
        for e in alert.events.select_related("actor")
    ]
    return {**alert_out(request, alert), "events": events}


@router.get(
    "/alerts/{alert_id}",
    auth=read_auth,
    response={200: AlertDetailOut, NOT_FOUND: ErrorOut},
    tags=["alerts"],
    summary="Read an alert with its timeline",
    url_name="alert-detail",
)
def read_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return alert_detail(request, alert_id)


class AcknowledgeIn(StrictIn):
    note: str = Field("", max_length=2000, description="Why, or what is being done.")


def act(request: HttpRequest, alert_id: int, action: Any) -> dict[str, Any]:
    """Run ``action(alert, user, now, label)`` on the locked alert; a refused transition (an
    alert already resolved, not firing, ...) is a 409 with the reason, as in the portal."""
    user, label = actor(request)
    with transaction.atomic():
        alert = get_or_404(Alert.objects.select_for_update(of=("self",)), "alert", pk=alert_id)
        try:
            action(alert, user, timezone.now(), label)
        except DjangoValidationError as exc:
            raise ApiError(409, " ".join(exc.messages)) from exc
    return alert_detail(request, alert_id)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    auth=operate_auth,
    response={200: AlertDetailOut, CONFLICT: ErrorOut},
    tags=["alerts"],
    summary="Acknowledge a firing alert",
    description="Stops its reminders and escalation. 409 unless it is firing.",
    url_name="alert-acknowledge",
)
def acknowledge_alert(
    request: HttpRequest, alert_id: int, body: Body[AcknowledgeIn | None] = None
) -> dict[str, Any]:
    note = body.note if body else ""
    return act(
        request,
        alert_id,
        lambda alert, user, now, label: operations.acknowledge(alert, user, note, now, label),
    )


@router.post(
    "/alerts/{alert_id}/unacknowledge",
    auth=operate_auth,
    response={200: AlertDetailOut, CONFLICT: ErrorOut},
    tags=["alerts"],
    summary="Unacknowledge an alert",
    description="Back to firing; reminders restart from now. 409 unless it is acknowledged.",
    url_name="alert-unacknowledge",
)
def unacknowledge_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return act(request, alert_id, operations.unacknowledge)


@router.post(
    "/alerts/{alert_id}/resolve",
    auth=operate_auth,
    response={200: AlertDetailOut, CONFLICT: ErrorOut},
    tags=["alerts"],
    summary="Resolve an alert by hand",
    description="If the condition still holds, it stays resolved until the condition recovers "
    "(no new alert for it meanwhile); its return after that is a new alert. 409 if it is "
    "already resolved.",
    url_name="alert-resolve",
)
def resolve_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return act(request, alert_id, operations.resolve_by_hand)
