"""The REST API of alerts: rules, alerts, silences, runbooks, and the per-source settings an
operator tunes (owner, pause, expected cron, rule overrides).

Every change goes through ``alerts/operations.py``, the same functions as the portal, so it is
validated as the admin validates (``full_clean`` and the rule kind's parameter model) and audited
as the token's owner, labelled with the token (``API token <name> (<prefix>…)``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Body, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict, Field, StrictBool

from alerts import operations
from alerts.choices import OPEN_STATES, AlertState, ScopeKind, Severity
from alerts.engine.silences import matchers, silence_active, with_relations
from alerts.models import Alert, AlertRule, Channel, RuleOverride, Runbook, Silence
from alerts.rules.base import ParamsError
from alerts.runbooks import wiki
from alerts.views.alerts import SUPPRESSED
from confops.common.api import (
    AUTH_ERRORS,
    ApiError,
    ErrorOut,
    Moment,
    PageOut,
    PageQuery,
    QueryBool,
    TokenAuth,
    get_or_404,
    invalid,
    paginate,
    request_token,
    token_label,
    token_owner,
)
from monitoring.api import SourceDetailOut, read_source
from monitoring.api import router as sources_router
from monitoring.choices import TokenScope
from monitoring.models import Deployment, Source
from monitoring.validators import validate_timezone

router = Router()

read_auth = TokenAuth(TokenScope.READ)
operate_auth = TokenAuth(TokenScope.OPERATE)
admin_auth = TokenAuth(TokenScope.ADMIN)
NOT_FOUND = frozenset({*AUTH_ERRORS, 404})
CONFLICT = frozenset({*AUTH_ERRORS, 404, 409})
# Larger than any sensible count of minutes, small enough for every database's integer column.
MAX_INT = 2**31 - 1


class StrictIn(Schema):
    """A request body: unknown keys are refused with a message, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def actor(request: HttpRequest) -> tuple[Any, str]:
    """Who a change is recorded as: the token's owner, and the token itself."""
    token = request_token(request)
    return token_owner(token), token_label(token)


def by_name_or_id(model: Any, value: str | int, name_field: str, where: str, what: str) -> Any:
    """An object named by its name (a source: slug or key) or by its id; a 400 on ``where``
    otherwise."""
    text = str(value).strip()
    match = Q(**{name_field: text})
    if model is Source:
        match |= Q(key=text)
    if text.isdigit() and len(text) < 10:
        match |= Q(pk=int(text))
    found = model.objects.filter(match).order_by("pk").first()
    if found is None:
        raise ApiError(400, f"invalid request ({where})", {where: f"no {what} '{text}'"})
    return found


def api_link(request: HttpRequest, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(f"api:{name}", args=args))


# Rules --------------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    kind: str
    parameters: dict[str, Any]
    description: str
    severity: str
    enabled: bool
    is_default: bool
    scope: str
    scope_deployment: str | None
    scope_group: str
    scope_tags: dict[str, Any]
    scope_sources: list[str]
    include_asset_jobs: bool
    channels: list[str]
    escalation_channels: list[str]
    escalate_after_minutes: int | None
    cooldown_minutes: int
    pending_minutes: int
    resolve_hold_minutes: int
    runbook: str | None
    created_at: datetime
    updated_at: datetime


class RulePage(PageOut):
    results: list[RuleOut]


class RuleChange(StrictIn):
    """Fields of a rule; a PATCH sends only those it changes. Channels and sources are named by
    name (slug) or id, the deployment by name or id, the runbook by slug."""

    name: str | None = None
    kind: str | None = None
    parameters: dict[str, Any] | None = Field(
        None, description='The kind\'s thresholds, e.g. {"max_age_hours": 24}.'
    )
    description: str | None = None
    severity: Severity | None = None
    enabled: StrictBool | None = None
    scope: ScopeKind | None = None
    scope_deployment: str | int | None = None
    scope_group: str | None = None
    scope_tags: dict[str, str] | None = None
    scope_sources: list[str | int] | None = None
    include_asset_jobs: StrictBool | None = None
    channels: list[str | int] | None = None
    escalation_channels: list[str | int] | None = None
    escalate_after_minutes: int | None = Field(None, ge=0, le=MAX_INT)
    cooldown_minutes: int | None = Field(None, ge=0, le=MAX_INT)
    pending_minutes: int | None = Field(None, ge=0, le=MAX_INT)
    resolve_hold_minutes: int | None = Field(None, ge=0, le=MAX_INT)
    runbook: str | None = None


class RuleCreate(RuleChange):
    name: str
    kind: str


# Set on the rule as they come; every other field needs a lookup.
PLAIN_RULE_FIELDS = (
    "name",
    "kind",
    "parameters",
    "description",
    "severity",
    "enabled",
    "scope",
    "scope_group",
    "scope_tags",
    "include_asset_jobs",
    "escalate_after_minutes",
    "cooldown_minutes",
    "pending_minutes",
    "resolve_hold_minutes",
)
NOT_NULL_RULE_FIELDS = frozenset(PLAIN_RULE_FIELDS) - {"escalate_after_minutes"}


def rule_rows() -> QuerySet[AlertRule]:
    return AlertRule.objects.select_related("scope_deployment", "runbook").prefetch_related(
        "channels", "escalation_channels", "scope_sources"
    )


def rule_out(rule: AlertRule) -> dict[str, Any]:
    return {
        **{name: getattr(rule, name) for name in PLAIN_RULE_FIELDS},
        "id": rule.pk,
        "is_default": rule.is_default,
        "scope_deployment": rule.scope_deployment.name if rule.scope_deployment else None,
        "scope_sources": [s.slug for s in rule.scope_sources.all()],
        "channels": [c.name for c in rule.channels.all()],
        "escalation_channels": [c.name for c in rule.escalation_channels.all()],
        "runbook": rule.runbook.slug if rule.runbook else None,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


def apply_rule_change(rule: AlertRule, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given fields on the rule; return the many-to-many choices to set after saving."""
    nulls = sorted(name for name in NOT_NULL_RULE_FIELDS & set(data) if data[name] is None)
    if nulls:
        raise ApiError(
            400, f"invalid request ({', '.join(nulls)})", dict.fromkeys(nulls, "may not be null")
        )
    for name in PLAIN_RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    if "scope_deployment" in data:
        value = data["scope_deployment"]
        rule.scope_deployment = (
            None
            if value is None
            else by_name_or_id(Deployment, value, "name", "scope_deployment", "deployment")
        )
    if "runbook" in data:
        slug = data["runbook"]
        rule.runbook = (
            None if not slug else by_name_or_id(Runbook, slug, "slug", "runbook", "runbook")
        )
    relations: dict[str, list[Any]] = {}
    for name in ("channels", "escalation_channels"):
        if name in data:
            names = data[name] or []
            relations[name] = [by_name_or_id(Channel, v, "name", name, "channel") for v in names]
    if "scope_sources" in data:
        slugs = data["scope_sources"] or []
        relations["scope_sources"] = [
            by_name_or_id(Source, v, "slug", "scope_sources", "source") for v in slugs
        ]
    return relations


def parameter_fields(fields: dict[str, str], parse: Any) -> dict[str, str]:
    """Replace a `parameters` message by one message per parameter (`parameters.max_age_hours`)
    from the kind's own parameter model: what the admin lists under its field."""
    if "parameters" not in fields:
        return fields
    try:
        parse()
    except ParamsError as exc:
        fields = {k: v for k, v in fields.items() if k != "parameters"}
        fields.update({f"parameters.{name}": message for name, message in exc.messages.items()})
    except (KeyError, ValueError):
        pass  # an unknown kind: its own message already says so
    return fields


def rule_invalid(exc: DjangoValidationError, rule: AlertRule) -> ApiError:
    error = invalid(exc)
    if error.fields:
        error.fields = parameter_fields(error.fields, lambda: rule.params())
        error.message = f"invalid request ({', '.join(error.fields)})"
    return error


def save_rule(request: HttpRequest, rule: AlertRule, data: dict[str, Any]) -> AlertRule:
    user, label = actor(request)
    relations = apply_rule_change(rule, data)
    try:
        return operations.save_rule(rule, relations, user, timezone.now(), label)
    except DjangoValidationError as exc:
        raise rule_invalid(exc, rule) from exc


class RuleFilters(Schema):
    kind: str | None = None
    severity: Severity | None = None
    enabled: QueryBool | None = None


@router.get(
    "/rules",
    auth=read_auth,
    response={200: RulePage, AUTH_ERRORS: ErrorOut},
    tags=["rules"],
    summary="List alert rules",
    description="Filters: `kind`, `severity`, `enabled`. Ordered by name.",
    url_name="rule-list",
)
def list_rules(
    request: HttpRequest, filters: Query[RuleFilters], page: Query[PageQuery]
) -> dict[str, Any]:
    rules = rule_rows()
    if filters.kind:
        rules = rules.filter(kind=filters.kind)
    if filters.severity:
        rules = rules.filter(severity=filters.severity)
    if filters.enabled is not None:
        rules = rules.filter(enabled=filters.enabled)
    rows, links = paginate(request, rules.order_by("name"), page)
    return {**links, "results": [rule_out(rule) for rule in rows]}


@router.get(
    "/rules/{rule_id}",
    auth=read_auth,
    response={200: RuleOut, NOT_FOUND: ErrorOut},
    tags=["rules"],
    summary="Read an alert rule",
    url_name="rule-detail",
)
def read_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return rule_out(get_or_404(rule_rows(), "rule", pk=rule_id))


@router.post(
    "/rules",
    auth=admin_auth,
    response={201: RuleOut, AUTH_ERRORS: ErrorOut},
    tags=["rules"],
    summary="Create an alert rule",
    description=(
        "Validated as in the admin: the kind's parameters (`fields` names each invalid one, "
        "e.g. `parameters.max_age_hours`), the scope, the policy minutes. Audited."
    ),
    url_name="rule-create",
)
def create_rule(request: HttpRequest, body: RuleCreate) -> Status[dict[str, Any]]:
    rule = save_rule(request, AlertRule(), body.model_dump(exclude_unset=True))
    return Status(201, rule_out(get_or_404(rule_rows(), "rule", pk=rule.pk)))


@router.patch(
    "/rules/{rule_id}",
    auth=admin_auth,
    response={200: RuleOut, NOT_FOUND: ErrorOut},
    tags=["rules"],
    summary="Change an alert rule",
    description=(
        "Send only what changes: thresholds (`parameters`, replaced whole), `severity`, "
        "`channels`, `cooldown_minutes` and the other policy minutes, scope, runbook. "
        "Validated as in the admin; audited with the fields that changed."
    ),
    url_name="rule-update",
)
def update_rule(request: HttpRequest, rule_id: int, body: RuleChange) -> dict[str, Any]:
    with transaction.atomic():
        rule = get_or_404(AlertRule.objects.select_for_update(of=("self",)), "rule", pk=rule_id)
        save_rule(request, rule, body.model_dump(exclude_unset=True))
    return rule_out(get_or_404(rule_rows(), "rule", pk=rule_id))


def switch_rule(request: HttpRequest, rule_id: int, enabled: bool) -> dict[str, Any]:
    user, label = actor(request)
    with transaction.atomic():
        rule = get_or_404(AlertRule.objects.select_for_update(of=("self",)), "rule", pk=rule_id)
        operations.set_rule_enabled(rule, enabled, user, timezone.now(), label)
    return rule_out(get_or_404(rule_rows(), "rule", pk=rule_id))


@router.post(
    "/rules/{rule_id}/enable",
    auth=admin_auth,
    response={200: RuleOut, NOT_FOUND: ErrorOut},
    tags=["rules"],
    summary="Enable an alert rule",
    description="Idempotent: enabling an enabled rule changes nothing and audits nothing.",
    url_name="rule-enable",
)
def enable_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return switch_rule(request, rule_id, enabled=True)


@router.post(
    "/rules/{rule_id}/disable",
    auth=admin_auth,
    response={200: RuleOut, NOT_FOUND: ErrorOut},
    tags=["rules"],
    summary="Disable an alert rule",
    description="Its open alerts resolve at the next evaluation (how: rule disabled).",
    url_name="rule-disable",
)
def disable_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return switch_rule(request, rule_id, enabled=False)


@router.delete(
    "/rules/{rule_id}",
    auth=admin_auth,
    response={204: None, NOT_FOUND: ErrorOut},
    tags=["rules"],
    summary="Delete an alert rule",
    description=(
        "Deletes the rule with its alerts and overrides, as the admin does. A default rule may "
        "be deleted too; `manage.py restore_default_rules` (and the next `migrate`) recreates "
        "it. To stop a rule without losing its history, disable it instead."
    ),
    url_name="rule-delete",
)
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    user, label = actor(request)
    rule = get_or_404(AlertRule.objects.all(), "rule", pk=rule_id)
    operations.delete_rule(rule, user, timezone.now(), label)
    return Status(204, None)


# Alerts -------------------------------------------------------------------------------------


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


def username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


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
    description="If the condition still holds, the next evaluation opens a new alert. 409 if "
    "it is already resolved.",
    url_name="alert-resolve",
)
def resolve_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return act(request, alert_id, operations.resolve_by_hand)


# Silences -----------------------------------------------------------------------------------

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
    return "active" if silence_active(silence, now) else "upcoming"


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


# Runbooks -----------------------------------------------------------------------------------


class RunbookOut(Schema):
    slug: str
    title: str
    updated_at: datetime
    updated_by: str | None
    links: dict[str, str]


class RunbookDetailOut(RunbookOut):
    body: str = Field(description="Markdown, as written.")
    html: str = Field(description="Rendered and sanitised (no scripts, handlers or js: links).")
    revision: int = Field(description="The number of the latest revision (0: none yet).")


class RunbookPage(PageOut):
    results: list[RunbookOut]


def runbook_out(request: HttpRequest, runbook: Runbook) -> dict[str, Any]:
    return {
        "slug": runbook.slug,
        "title": runbook.title,
        "updated_at": runbook.updated_at,
        "updated_by": username(runbook.updated_by),
        "links": {
            "self": api_link(request, "runbook-detail", runbook.slug),
            "page": request.build_absolute_uri(
                reverse("alerts:runbook-detail", args=[runbook.slug])
            ),
        },
    }


@router.get(
    "/runbooks",
    auth=read_auth,
    response={200: RunbookPage, AUTH_ERRORS: ErrorOut},
    tags=["runbooks"],
    summary="List runbook pages",
    url_name="runbook-list",
)
def list_runbooks(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    runbooks = Runbook.objects.select_related("updated_by").order_by("title", "slug")
    rows, links = paginate(request, runbooks, page)
    return {**links, "results": [runbook_out(request, r) for r in rows]}


@router.get(
    "/runbooks/{slug}",
    auth=read_auth,
    response={200: RunbookDetailOut, NOT_FOUND: ErrorOut},
    tags=["runbooks"],
    summary="Read a runbook page",
    url_name="runbook-detail",
)
def read_runbook(request: HttpRequest, slug: str) -> dict[str, Any]:
    runbook = get_or_404(Runbook.objects.select_related("updated_by"), "runbook", slug=slug)
    return {
        **runbook_out(request, runbook),
        "body": runbook.body,
        "html": str(wiki.render_markdown(runbook.body)),
        "revision": wiki.latest_number(runbook),
    }


# Per-source settings --------------------------------------------------------------------------


class SourceChange(StrictIn):
    """What an operator sets on a source (discovery owns the rest)."""

    owner: str | None = Field(None, max_length=255)
    runbook_slug: str | None = Field(None, max_length=200)
    notes: str | None = None
    paused: StrictBool | None = Field(None, description="A paused source is not judged.")
    expected_cron: str | None = Field(
        None, max_length=100, description="For pushed sources: when runs are expected."
    )
    expected_cron_timezone: str | None = Field(None, max_length=64)


# On monitoring's router, beside GET /sources/{slug}: ninja answers one path from one router
# (a second router's pattern for the same path would never be reached). The code stays here, so
# monitoring still imports nothing of alerts.
@sources_router.patch(
    "/sources/{slug}",
    auth=admin_auth,
    response={200: SourceDetailOut, NOT_FOUND: ErrorOut},
    tags=["sources"],
    summary="Change a source's operator settings",
    description="Owner, runbook, notes, pause and expected cron, validated as in the admin. "
    "Audited.",
    url_name="source-update",
)
def update_source(request: HttpRequest, slug: str, body: SourceChange) -> dict[str, Any]:
    user, label = actor(request)
    data = body.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in data.items() if value is None)
    if nulls:
        raise ApiError(
            400, f"invalid request ({', '.join(nulls)})", dict.fromkeys(nulls, "may not be null")
        )
    with transaction.atomic():
        source = get_or_404(Source.objects.select_for_update(of=("self",)), "source", slug=slug)
        before = operations.source_snapshot(source)
        for name, value in data.items():
            setattr(source, name, value)
        try:
            operations.save_source(source, before, user, timezone.now(), label, list(data))
        except DjangoValidationError as exc:
            raise invalid(exc) from exc
    return read_source(request, slug)


class OverrideIn(StrictIn):
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Only the kind's overridable parameters."
    )
    enabled: StrictBool = Field(True, description="False switches the rule off for this source.")


class OverrideOut(Schema):
    rule: int
    source: str
    parameters: dict[str, Any]
    enabled: bool


def override_out(override: RuleOverride) -> dict[str, Any]:
    return {
        "rule": override.rule_id,
        "source": override.source.slug,
        "parameters": override.parameters,
        "enabled": override.enabled,
    }


@router.put(
    "/sources/{slug}/overrides/{rule_id}",
    auth=admin_auth,
    response={200: OverrideOut, 201: OverrideOut, NOT_FOUND: ErrorOut},
    tags=["sources"],
    summary="Set a rule's override for one source",
    description=(
        "Per-source thresholds (e.g. stale after 48 h for this source) or the rule switched "
        "off here. Only the kind's overridable parameters are accepted. 201 when created."
    ),
    url_name="source-override-set",
)
def set_override(
    request: HttpRequest, slug: str, rule_id: int, body: OverrideIn
) -> Status[dict[str, Any]]:
    user, label = actor(request)
    source = get_or_404(Source.objects.all(), "source", slug=slug)
    rule = get_or_404(AlertRule.objects.all(), "rule", pk=rule_id)
    with transaction.atomic():
        override = RuleOverride.objects.filter(rule=rule, source=source).first()
        created = override is None
        override = override or RuleOverride(rule=rule, source=source)
        override.parameters, override.enabled = body.parameters, body.enabled
        try:
            operations.save_override(override, user, timezone.now(), label)
        except DjangoValidationError as exc:
            error = invalid(exc)
            if error.fields and "cannot be overridden" not in error.fields.get("parameters", ""):
                error.fields = parameter_fields(error.fields, lambda: rule.params(body.parameters))
                error.message = f"invalid request ({', '.join(error.fields)})"
            raise error from exc
    return Status(201 if created else 200, override_out(override))


@router.delete(
    "/sources/{slug}/overrides/{rule_id}",
    auth=admin_auth,
    response={204: None, NOT_FOUND: ErrorOut},
    tags=["sources"],
    summary="Remove a rule's override for one source",
    description="The rule's own parameters apply to the source again. Audited.",
    url_name="source-override-delete",
)
def delete_override(request: HttpRequest, slug: str, rule_id: int) -> Status[None]:
    user, label = actor(request)
    override = get_or_404(
        RuleOverride.objects.select_related("rule", "source"),
        "override",
        source__slug=slug,
        rule_id=rule_id,
    )
    operations.delete_override(override, user, timezone.now(), label)
    return Status(204, None)
