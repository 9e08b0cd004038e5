"""A rule's override for one source: set it, remove it."""

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
from confops.common.api import ErrorOut, get_or_404, invalid
from monitoring.models import Source

router = Router()


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
