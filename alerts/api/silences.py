"""Silences: list, read, create, expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from alerts import operations
from alerts.api.common import (
    CONFLICT,
    MAX_INT,
    NOT_FOUND,
    StrictIn,
    actor,
    by_name_or_id,
    operate_auth,
    read_auth,
    username,
)
from alerts.choices import Severity
from alerts.engine.silences import matchers, with_relations
from alerts.models import AlertRule, Silence
from confops.common.api import (
    AUTH_ERRORS,
    ApiError,
    ErrorOut,
    Moment,
    PageOut,
    PageQuery,
    get_or_404,
    invalid,
    paginate,
)
from monitoring.models import Deployment, Source
from monitoring.validators import validate_timezone

router = Router()


SilenceStatus = Literal["active", "upcoming", "expired"]


class SilenceOut(Schema):
    id: int
    status: SilenceStatus
    rule: int | None
    source: str | None
    deployment: str | None
    group: str
    tag_key: str
    tag_value: str
    severity: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime | None
    recurrence_cron: str
    recurrence_timezone: str
    duration_minutes: int | None
    catch_up_minutes: int
    comment: str
    created_by: str | None
    created_at: datetime
    expired_at: datetime | None
    holding: int = Field(description="Open alerts it holds back now.")


class SilencePage(PageOut):
    results: list[SilenceOut]


class SilenceIn(StrictIn):
    """Matchers (at least one), a window and a comment. A one-off silence gives `ends_at` or
    `duration_minutes`; a recurring one gives `recurrence_cron` and `duration_minutes` (each
    window's length) and may give `ends_at` (when the recurrence stops)."""

    rule: int | None = Field(None, ge=1, le=MAX_INT, description="A rule's id.")
    source: str | None = Field(None, description="A source's slug, key or id.")
    deployment: str | None = Field(None, description="A deployment's name or id.")
    group: str = Field("", max_length=255, description="A glob over group names, e.g. scrap*.")
    tag_key: str = Field("", max_length=255)
    tag_value: str = Field("", max_length=255, description="Empty: any value.")
    severity: Severity | None = None
    starts_at: Moment | None = Field(None, description="Default: now.")
    ends_at: Moment | None = None
    duration_minutes: int | None = Field(None, ge=1, le=MAX_INT)
    recurrence_cron: str = Field("", max_length=100)
    recurrence_timezone: str = Field("UTC", max_length=64)
    catch_up_minutes: int = Field(0, ge=0, le=MAX_INT)
    comment: str = Field(description="Why alerts are silenced (required).")


def silence_status(silence: Silence, now: datetime) -> SilenceStatus:
    if (silence.expired_at and silence.expired_at <= now) or (
        silence.ends_at and silence.ends_at <= now
    ):
        return "expired"
    return "active" if silence.is_active(now) else "upcoming"


def silence_out(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.pk,
        "status": silence_status(silence, now),
        "rule": silence.rule_id,
        "source": silence.source.slug if silence.source else None,
        "deployment": silence.deployment.name if silence.deployment else None,
        **{
            name: getattr(silence, name)
            for name in (
                "group",
                "tag_key",
                "tag_value",
                "severity",
                "starts_at",
                "ends_at",
                "recurrence_cron",
                "recurrence_timezone",
                "duration_minutes",
                "catch_up_minutes",
                "comment",
                "created_at",
                "expired_at",
            )
        },
        "matchers": matchers(silence),
        "created_by": username(silence.created_by),
        "holding": getattr(silence, "holding", 0),
    }


class SilenceFilters(Schema):
    status: SilenceStatus | None = None


@router.get(
    "/silences",
    auth=read_auth,
    response={200: SilencePage, AUTH_ERRORS: ErrorOut},
    tags=["silences"],
    summary="List silences",
    description="Newest start first. `status`: `active` (holding now), `upcoming`, `expired`.",
    url_name="silence-list",
)
def list_silences(
    request: HttpRequest, filters: Query[SilenceFilters], page: Query[PageQuery]
) -> dict[str, Any]:
    now = timezone.now()
    ended = Q(expired_at__lte=now) | Q(ends_at__lte=now)
    silences = with_relations(Silence.objects.all()).order_by("-starts_at", "-pk")
    if filters.status == "expired":
        silences = silences.filter(ended)
    elif filters.status:
        wanted = filters.status
        live = silences.exclude(ended)
        silences = [s for s in live if silence_status(s, now) == wanted]  # type: ignore[assignment]
    rows, links = paginate(request, silences, page)
    return {**links, "results": [silence_out(s, now) for s in rows]}


@router.get(
    "/silences/{silence_id}",
    auth=read_auth,
    response={200: SilenceOut, NOT_FOUND: ErrorOut},
    tags=["silences"],
    summary="Read a silence",
    url_name="silence-detail",
)
def read_silence(request: HttpRequest, silence_id: int) -> dict[str, Any]:
    return silence_out(
        get_or_404(with_relations(Silence.objects.all()), "silence", pk=silence_id), timezone.now()
    )


def silence_from(body: SilenceIn, now: datetime) -> Silence:
    """The silence the request describes, matchers looked up; validated when saved."""
    starts = body.starts_at or now
    ends = body.ends_at
    if not body.recurrence_cron and body.duration_minutes is not None:
        if ends is not None:
            message = "give ends_at or duration_minutes, not both"
            raise ApiError(400, "invalid request (ends_at)", {"ends_at": message})
        ends = starts + timedelta(minutes=body.duration_minutes)
    try:
        validate_timezone(body.recurrence_timezone or "UTC")
    except DjangoValidationError as exc:
        raise invalid(DjangoValidationError({"recurrence_timezone": exc.messages})) from exc
    return Silence(
        rule=by_name_or_id(AlertRule, body.rule, "name", "rule", "rule") if body.rule else None,
        source=by_name_or_id(Source, body.source, "slug", "source", "source")
        if body.source
        else None,
        deployment=by_name_or_id(Deployment, body.deployment, "name", "deployment", "deployment")
        if body.deployment
        else None,
        group=body.group,
        tag_key=body.tag_key,
        tag_value=body.tag_value,
        severity=body.severity or "",
        starts_at=starts,
        ends_at=ends,
        recurrence_cron=body.recurrence_cron,
        recurrence_timezone=body.recurrence_timezone or "UTC",
        duration_minutes=body.duration_minutes if body.recurrence_cron else None,
        catch_up_minutes=body.catch_up_minutes if body.recurrence_cron else 0,
        comment=body.comment,
    )


@router.post(
    "/silences",
    auth=operate_auth,
    response={201: SilenceOut, AUTH_ERRORS: ErrorOut},
    tags=["silences"],
    summary="Create a silence",
    description=(
        "Matchers: `rule`, `source`, `deployment`, `group`, `tag_key`/`tag_value`, `severity` "
        "(at least one). Open alerts it covers are held back at once, as in the portal. "
        "Audited."
    ),
    url_name="silence-create",
)
def create_silence(request: HttpRequest, body: SilenceIn) -> Status[dict[str, Any]]:
    now = timezone.now()
    user, label = actor(request)
    silence = silence_from(body, now)
    try:
        operations.create_silence(silence, user, now, label)
    except DjangoValidationError as exc:
        raise invalid(exc) from exc
    return Status(
        201,
        silence_out(
            get_or_404(with_relations(Silence.objects.all()), "silence", pk=silence.pk), now
        ),
    )


@router.post(
    "/silences/{silence_id}/expire",
    auth=operate_auth,
    response={200: SilenceOut, CONFLICT: ErrorOut},
    tags=["silences"],
    summary="Expire a silence now",
    description="The alerts it held are released by the next evaluation. 409 if it already "
    "expired.",
    url_name="silence-expire",
)
def expire_silence(request: HttpRequest, silence_id: int) -> dict[str, Any]:
    now = timezone.now()
    user, label = actor(request)
    silence = get_or_404(Silence.objects.all(), "silence", pk=silence_id)
    try:
        operations.expire_silence(silence, user, now, label)
    except DjangoValidationError as exc:
        raise ApiError(409, " ".join(exc.messages)) from exc
    return silence_out(
        get_or_404(with_relations(Silence.objects.all()), "silence", pk=silence.pk), now
    )
