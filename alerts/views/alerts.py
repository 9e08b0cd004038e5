"""The alerts page, one alert's page, and what operators do to an alert from them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from alerts import operations
from alerts.choices import OPEN_STATES, AlertEventKind, AlertState, Severity
from alerts.engine import policy
from alerts.forms import HELD_BACK, AcknowledgeForm, AlertFilterForm, SilenceHoursForm
from alerts.models import SUPPRESSED, Alert, Runbook
from alerts.pages.counts import AlertCounts, alert_counts, in_bucket
from alerts.views.common import context_with, needs, safe_next, see_other
from alerts.views.incidents import open_incidents
from confops.common import htmx
from monitoring.dagster.errors import DagsterError
from monitoring.models import Run

RESOLVED_DAYS = 7
RESOLVED_PER_PAGE = 25
LIVE = (AlertState.FIRING, AlertState.ACKNOWLEDGED)


def alert_rows() -> QuerySet[Alert]:
    """Alerts with everything a row shows, in a fixed number of queries whatever their count."""
    consequences = (
        Alert.objects.filter(folded_into=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("folded_into")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Alert.objects.select_related(
        "rule",
        "rule__runbook",
        "source",
        "source__deployment",
        "deployment",
        "acknowledged_by",
        "resolved_by",
        "silenced_by",
        "folded_into",
        "folded_into__source",
        "folded_into__deployment",
        "incident",
    ).annotate(consequence_count=Coalesce(Subquery(consequences), Value(0)))


def filtered(alerts: QuerySet[Alert], filters: dict[str, Any]) -> QuerySet[Alert]:
    if "severity" in filters:
        alerts = alerts.filter(severity=filters["severity"])
    if "rule" in filters:
        alerts = alerts.filter(rule=filters["rule"])
    if "source" in filters:
        alerts = alerts.filter(source=filters["source"])
    if "deployment" in filters:
        dep = filters["deployment"]
        alerts = alerts.filter(Q(deployment=dep) | Q(source__deployment=dep))
    return alerts


def open_alerts(filters: dict[str, Any]) -> QuerySet[Alert]:
    """Firing first, then acknowledged, then held back, then pending; critical first in each."""
    state = filters.get("state", "")
    alerts = filtered(alert_rows(), filters)
    if state in (AlertState.FIRING, AlertState.ACKNOWLEDGED, HELD_BACK):
        # Filtered as the counters count (alerts.pages.counts): "firing" leaves out recovering.
        alerts = alerts.filter(in_bucket(state))
    elif state == AlertState.PENDING:
        alerts = alerts.filter(state=AlertState.PENDING)
    else:
        alerts = alerts.filter(state__in=LIVE)
    return alerts.annotate(
        group=Case(
            When(Q(state=AlertState.FIRING) & ~SUPPRESSED, then=Value(0)),
            When(state=AlertState.ACKNOWLEDGED, then=Value(1)),
            When(state=AlertState.FIRING, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        ),
        severity_rank=Case(
            When(severity=Severity.CRITICAL, then=Value(0)),
            When(severity=Severity.WARNING, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by("group", "severity_rank", "-fired_at", "-opened_at")


def resolved_alerts(filters: dict[str, Any], now: datetime) -> QuerySet[Alert]:
    """Incidents resolved in the last days (a pending alert that cleared was never one)."""
    since = now - timedelta(days=RESOLVED_DAYS)
    return (
        filtered(alert_rows(), filters)
        .filter(state=AlertState.RESOLVED, resolved_at__gte=since, fired_at__isnull=False)
        .order_by("-resolved_at")
    )


def counters() -> AlertCounts:
    """The header's counts: firing (and told), acknowledged, held back, recovering; counted as
    the status page and ``/metrics`` count them."""
    return alert_counts()


@needs("alerts.view_alert")
def alert_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = AlertFilterForm(request.GET)
    filters = form.filters()
    state = filters.get("state", "")
    resolved = None
    if state in ("", AlertState.RESOLVED):
        paginator = Paginator(resolved_alerts(filters, now), RESOLVED_PER_PAGE)
        resolved = paginator.get_page(request.GET.get("page"))
    context = context_with(
        request,
        form=form,
        # What pages is listed first; the filters narrow the alerts below it.
        incidents=open_incidents(),
        open_alerts=None if state == AlertState.RESOLVED else list(open_alerts(filters)),
        resolved=resolved,
        resolved_days=RESOLVED_DAYS,
        counts=counters(),
        now=now,
        query=query_without_page(request),
    )
    # The filters changed or the lists refresh: only the lists and, out of band, the counters
    # (the back button still gets the whole page).
    return htmx.render_partial(
        request,
        "alerts/alert_list.html",
        "alerts/partials/alert_lists_refresh.html",
        context,
        target="alert-lists",
    )


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@needs("alerts.view_alert")
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(alert_rows(), pk=pk)
    deployment = operations.alert_deployment(alert)
    context = context_with(
        request,
        alert=alert,
        counts=counters(),
        events=alert.events.select_related("actor"),
        consequences=alert.consequences.select_related("rule", "source", "deployment"),
        notifications=alert.notifications.select_related("channel")
        .prefetch_related("delivery_attempts")
        .order_by("created_at"),
        runbooks=runbooks_for(alert),
        run=Run.objects.filter(run_id=alert.run_id, deployment=deployment).first()
        if alert.run_id and deployment
        else None,
        can_reexecute=operations.can_reexecute(alert),
        unreached=policy.why_unreached(alert),
        fix_url=fix_url(request, alert),
        now=timezone.now(),
    )
    return render(request, "alerts/alert_detail.html", context)


def fix_url(request: HttpRequest, alert: Alert) -> str:
    """Where an operator fixes an alert that reached nobody, when they may: the rule's admin
    page (to give it a channel) or the channels' list (to mark one default, enable one or lower
    its minimum severity); empty for a reader who may change neither."""
    unreached = policy.why_unreached(alert)
    if unreached is None or not unreached.fix:
        return ""
    if unreached.fix == "rule":
        if request.user.has_perm("alerts.change_alertrule"):
            return reverse("admin:alerts_alertrule_change", args=[alert.rule_id])
        if not request.user.has_perm("alerts.change_channel"):
            return ""
    elif not request.user.has_perm("alerts.change_channel"):
        return ""
    return reverse("admin:alerts_channel_changelist")


def runbooks_for(alert: Alert) -> list[Runbook | str]:
    """The rule's runbook, then the source's page (a slug may name a page not written yet)."""
    found: list[Runbook | str] = []
    if alert.rule.runbook:
        found.append(alert.rule.runbook)
    slug = alert.source.runbook_slug if alert.source else ""
    if slug and not any(isinstance(r, Runbook) and r.slug == slug for r in found):
        found.append(Runbook.objects.filter(slug=slug).first() or slug)
    return found


# Actions. Each is a POST answered with the alert's row (htmx) or a redirect (no JavaScript).

Action = Callable[[Alert, datetime], Any]


def act(request: HttpRequest, pk: int, action: Action, done: str) -> HttpResponse:
    """Run ``action`` on the locked alert; a refused transition answers 409 with the row."""
    now = timezone.now()
    error = ""
    with transaction.atomic():
        alert = get_object_or_404(Alert.objects.select_for_update(), pk=pk)
        try:
            action(alert, now)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    return answer(request, pk, notice="" if error else done, error=error)


def answer(request: HttpRequest, pk: int, notice: str = "", error: str = "") -> HttpResponse:
    status = 409 if error else 200
    back = safe_next(request, reverse("alerts:alert-list"))
    if not htmx.partial(request):
        (messages.error if error else messages.success)(request, error or notice)
        return htmx.vary(see_other(back))
    context = {
        "next_url": back,
        "alert": alert_rows().get(pk=pk),
        "counts": counters(),
        "notice": notice,
        "error": error,
    }
    return htmx.vary(
        render(request, "alerts/partials/alert_row_response.html", context, status=status)
    )


@require_POST
@needs("alerts.acknowledge_alert")
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    form = AcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return act(
        request,
        pk,
        lambda alert, now: operations.acknowledge(alert, request.user, note, now),
        "Acknowledged",
    )


@require_POST
@needs("alerts.acknowledge_alert")
def unacknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return act(
        request,
        pk,
        lambda alert, now: operations.unacknowledge(alert, request.user, now),
        "Unacknowledged",
    )


@require_POST
@needs("alerts.resolve_alert")
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return act(
        request,
        pk,
        lambda alert, now: operations.resolve_by_hand(alert, request.user, now),
        "Resolved by hand",
    )


@require_POST
@needs("alerts.silence_alert")
def silence(request: HttpRequest, pk: int) -> HttpResponse:
    form = SilenceHoursForm(request.POST)
    if not form.is_valid():
        return answer(request, pk, error="Choose 1, 4 or 24 hours, or a custom silence.")
    hours = form.cleaned_data["hours"]
    return act(
        request,
        pk,
        lambda alert, now: operations.silence_alert(alert, hours, request.user, now),
        f"Silenced for {hours} h",
    )


@require_http_methods(["GET", "POST"])
@needs("alerts.reexecute_run")
def reexecute(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST re-executes the alert's failed run from its failure."""
    alert = get_object_or_404(alert_rows(), pk=pk)
    error, status = "", 200
    if request.method == "POST":
        try:
            new_run_id = operations.reexecute(alert, request.user, timezone.now())
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 409
        except DagsterError as exc:
            error, status = str(exc), 502
        else:
            messages.success(request, f"Dagster launched run {new_run_id}.")
            return see_other(reverse("alerts:alert-detail", args=[alert.pk]))
    earlier = alert.events.filter(kind=AlertEventKind.REEXECUTED).select_related("actor")
    context = context_with(
        request,
        alert=alert,
        deployment=operations.alert_deployment(alert),
        can_reexecute=operations.can_reexecute(alert),
        earlier=earlier,
        error=error,
    )
    return render(request, "alerts/alert_reexecute.html", context, status=status)
