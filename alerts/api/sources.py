"""A source's operator settings (owner, runbook, notes, pause, expected cron) and its rule
overrides."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictBool

from alerts import operations
from alerts.api.common import NOT_FOUND, StrictIn, actor, admin_auth
from alerts.api.rules import parameter_fields
from alerts.models import AlertRule, RuleOverride
from confops.common.api import ApiError, ErrorOut, get_or_404, invalid
from monitoring.api import SourceDetailOut, read_source
from monitoring.api import router as sources_router
from monitoring.models import Source

router = Router()


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
