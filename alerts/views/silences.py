"""Silences: what is silenced now, what will be, what was; create one with a live preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alerts import operations
from alerts.engine.silences import matchers, with_relations
from alerts.forms import SilenceForm, silence_initial
from alerts.models import Silence
from alerts.views.common import context_with, needs, see_other
from confops.common import htmx

EXPIRED_DAYS = 30
EXPIRED_SHOWN = 50
PREVIEW_SHOWN = 50


@dataclass(frozen=True)
class SilenceRow:
    silence: Silence
    matchers: list[str]
    window: tuple[datetime, datetime] | None = None  # the current or next recurring window


def next_window(silence: Silence, now: datetime) -> tuple[datetime, datetime] | None:
    """For a recurring silence: the window it is in, or the next one (within its end)."""
    if not silence.recurrence_cron:
        return None
    window = silence.current_window(now)
    if window is not None:
        return window
    zone = ZoneInfo(silence.recurrence_timezone or "UTC")
    start = next(
        iter(CronSim(silence.recurrence_cron, max(now, silence.starts_at).astimezone(zone)))
    )
    if silence.ends_at is not None and start >= silence.ends_at:
        return None
    length = timedelta(minutes=(silence.duration_minutes or 0) + silence.catch_up_minutes)
    return start, start + length


@needs("alerts.view_silence")
def silence_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    ended = Q(expired_at__lte=now) | Q(ends_at__lte=now)
    active: list[SilenceRow] = []
    upcoming: list[SilenceRow] = []
    for silence in with_relations(Silence.objects.exclude(ended)).order_by("starts_at"):
        row = SilenceRow(silence, matchers(silence), next_window(silence, now))
        (active if silence.is_active(now) else upcoming).append(row)
    expired = [
        SilenceRow(s, matchers(s))
        for s in with_relations(
            Silence.objects.filter(ended, starts_at__gte=now - timedelta(days=EXPIRED_DAYS))
        ).order_by(Coalesce("expired_at", "ends_at").desc())[:EXPIRED_SHOWN]
    ]
    context = context_with(
        request,
        active=active,
        upcoming=upcoming,
        expired=expired,
        expired_days=EXPIRED_DAYS,
        now=now,
    )
    # A refresh (live.js) asks for the lists alone.
    return htmx.render_partial(
        request,
        "alerts/silence_list.html",
        "alerts/partials/silence_lists.html",
        context,
        target="silence-lists",
    )


@needs("alerts.add_silence")
def silence_create(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    if request.method == "POST":
        form = SilenceForm(request.POST, now=now)
        if form.is_valid():
            silence = operations.create_silence(form.save(commit=False), request.user, now)
            messages.success(request, f"Silence {silence.pk} saved.")
            return see_other(reverse("alerts:silence-list"))
        status = 422
        preview = preview_context(form, now)
    else:
        form = SilenceForm(initial=silence_initial(request.GET), now=now)
        status = 200
        # Prefilled from an alert: preview what the prefilled matchers cover.
        preview = preview_context(SilenceForm(request.GET or None, now=now), now)
    context = context_with(request, form=form, preview=preview, time_zone=settings.TIME_ZONE)
    return render(request, "alerts/silence_form.html", context, status=status)


def preview_context(form: SilenceForm, now: datetime) -> dict[str, object]:
    """The open alerts a silence built from the form would cover, and whether it holds now."""
    if not form.is_bound:
        return {"has_matcher": False}
    silence = form.transient()
    has_matcher = bool(matchers(silence))
    covered = (
        operations.open_alerts_covered(silence, limit=PREVIEW_SHOWN + 1) if has_matcher else []
    )
    try:
        active_now = has_matcher and silence.is_active(now)
    except (CronSimError, ValueError, KeyError):  # half-typed cron or zone: no verdict
        active_now = False
    return {
        "has_matcher": has_matcher,
        "alerts": covered[:PREVIEW_SHOWN],
        "more": len(covered) > PREVIEW_SHOWN,
        "active_now": active_now,
        "matchers": matchers(silence),
    }


@require_GET
@needs("alerts.add_silence")
def silence_preview(request: HttpRequest) -> HttpResponse:
    """The live preview, as the form changes (htmx GET with the form's fields)."""
    now = timezone.now()
    form = SilenceForm(request.GET, now=now)
    context = {"preview": preview_context(form, now)}
    return render(request, "alerts/partials/silence_preview.html", context)


@require_POST
@needs("alerts.change_silence")
def silence_expire(request: HttpRequest, pk: int) -> HttpResponse:
    silence = get_object_or_404(Silence, pk=pk)
    try:
        operations.expire_silence(silence, request.user, timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Silence {silence.pk} expired; its alerts are released.")
    return see_other(reverse("alerts:silence-list"))
