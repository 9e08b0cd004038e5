"""The audit trail: who changed which rule, threshold or silence, from what to what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from confops.accounts.models import AuditEntry
from confops.common.secrets import mask_secret

# Stored once, shown masked everywhere, the audit trail included.
SECRET_FIELDS = frozenset({"secret", "auth_header_value"})


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Field values as JSON-friendly data (foreign keys as ids, secrets masked). By default
    every field an operator can change: a save time (``auto_now``) changes on every save and
    would be listed as a change each time, in the trail and the daily report."""
    names = fields or [
        f.attname for f in obj._meta.concrete_fields if not getattr(f, "auto_now", False)
    ]
    return {name: jsonable(shown(obj, name)) for name in names}


def shown(obj: models.Model, name: str) -> Any:
    """A field's value with its secrets masked. A model whose secrets depend on its data (a
    channel's config holds a webhook's URL and headers, by kind) masks them itself with a
    ``masked_value(name)`` method; any other field named like a secret is masked whole."""
    own = getattr(obj, "masked_value", None)
    if callable(own):
        return own(name)
    value = getattr(obj, name)
    return mask_secret(value or "") if name in SECRET_FIELDS else value


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def record(
    now: datetime,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        at=now,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        changes=changes or {},
    )
