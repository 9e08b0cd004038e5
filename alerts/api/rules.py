"""Rules: list, read, create, change, switch on and off, delete."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import P, PathEx, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictBool

from alerts import operations
from alerts.api.common import (
    MAX_INT,
    NOT_FOUND,
    StrictIn,
    actor,
    admin_auth,
    by_name_or_id,
    read_auth,
)
from alerts.choices import ScopeKind, Severity
from alerts.models import AlertRule, Channel, Runbook
from alerts.rules.base import ParamsError
from confops.common.api import (
    AUTH_ERRORS,
    ApiError,
    ErrorOut,
    PageOut,
    PageQuery,
    QueryBool,
    get_or_404,
    invalid,
    paginate,
)
from monitoring.models import Deployment, Source

router = Router()


class RuleOut(Schema):
    id: int
    slug: str = Field(description="Made from the name when the rule is created; kept on rename.")
    name: str
    threshold: str = Field(description='The threshold in words, e.g. "over 30 %".')
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
        None,
        description='The kind\'s thresholds, e.g. {"max_age_hours": 24}. A PATCH merges them '
        "into the rule's: a key given replaces, a key left out stays, a key set to null goes "
        "back to the kind's default (replaced whole when the PATCH also changes `kind`).",
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


RULE_REF = "The rule's id or its slug (`volume-drop`)."
RuleId = PathEx[str, P(description=RULE_REF)]
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def rule_ref(id_or_slug: str) -> dict[str, Any]:
    """The lookup for a rule named by id (digits) or slug; a 404 for what can be neither (so a
    NUL byte or an id past the column's range never reaches the database)."""
    text = id_or_slug.strip()
    if text.isdigit() and len(text) < 10:
        return {"pk": int(text)}
    if not SLUG.fullmatch(text):
        raise ApiError(404, f"no rule {text}".strip())
    return {"slug": text}


def rule_rows() -> QuerySet[AlertRule]:
    return AlertRule.objects.select_related("scope_deployment", "runbook").prefetch_related(
        "channels", "escalation_channels", "scope_sources"
    )


def rule_out(rule: AlertRule) -> dict[str, Any]:
    return {
        **{name: getattr(rule, name) for name in PLAIN_RULE_FIELDS},
        "id": rule.pk,
        "slug": rule.slug,
        "threshold": rule.threshold,
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


def merged_parameters(rule: AlertRule, data: dict[str, Any]) -> dict[str, Any]:
    """A PATCH's ``parameters`` merged into the rule's: given keys replace, absent keys stay,
    null keys go (back to the kind's default). Another kind's parameters replace them whole."""
    given = data.get("parameters")
    if given is None or data.get("kind", rule.kind) != rule.kind:
        return data
    merged = {**rule.parameters, **given}
    return {**data, "parameters": {k: v for k, v in merged.items() if v is not None}}


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
def read_rule(request: HttpRequest, rule_id: RuleId) -> dict[str, Any]:
    return rule_out(get_or_404(rule_rows(), "rule", **rule_ref(rule_id)))


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
        "Send only what changes: thresholds (`parameters`, merged into the rule's: a key "
        "given replaces, a key left out stays, a key set to null returns to the kind's "
        "default), `severity`, "
        "`channels`, `cooldown_minutes` and the other policy minutes, scope, runbook. "
        "Validated as in the admin; audited with the fields that changed."
    ),
    url_name="rule-update",
)
def update_rule(request: HttpRequest, rule_id: RuleId, body: RuleChange) -> dict[str, Any]:
    with transaction.atomic():
        rule = get_or_404(
            AlertRule.objects.select_for_update(of=("self",)), "rule", **rule_ref(rule_id)
        )
        save_rule(request, rule, merged_parameters(rule, body.model_dump(exclude_unset=True)))
    return rule_out(get_or_404(rule_rows(), "rule", pk=rule.pk))


def switch_rule(request: HttpRequest, rule_id: str, enabled: bool) -> dict[str, Any]:
    user, label = actor(request)
    with transaction.atomic():
        rule = get_or_404(
            AlertRule.objects.select_for_update(of=("self",)), "rule", **rule_ref(rule_id)
        )
        operations.set_rule_enabled(rule, enabled, user, timezone.now(), label)
    return rule_out(get_or_404(rule_rows(), "rule", pk=rule.pk))


@router.post(
    "/rules/{rule_id}/enable",
    auth=admin_auth,
    response={200: RuleOut, NOT_FOUND: ErrorOut},
    tags=["rules"],
    summary="Enable an alert rule",
    description="Idempotent: enabling an enabled rule changes nothing and audits nothing.",
    url_name="rule-enable",
)
def enable_rule(request: HttpRequest, rule_id: RuleId) -> dict[str, Any]:
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
def disable_rule(request: HttpRequest, rule_id: RuleId) -> dict[str, Any]:
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
def delete_rule(request: HttpRequest, rule_id: RuleId) -> Status[None]:
    user, label = actor(request)
    rule = get_or_404(AlertRule.objects.all(), "rule", **rule_ref(rule_id))
    operations.delete_rule(rule, user, timezone.now(), label)
    return Status(204, None)
