"""Small helpers of the alerts templates: values shown as text, never as markup."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template

from alerts.engine import recovery
from alerts.models import Alert

register = template.Library()


@register.filter
def shown(value: Any) -> str:
    """A detail value as plain text: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def detail_items(details: Any) -> list[tuple[str, Any]]:
    """An alert's details as (key, value) pairs, the longest (errors, tracebacks) last."""
    if not isinstance(details, dict):
        return [("details", details)]
    return sorted(details.items(), key=lambda kv: (len(shown(kv[1])) > 80, kv[0]))


@register.filter
def closes_at(alert: Alert) -> datetime | None:
    """When an open alert whose condition has cleared closes (its resolve hold runs out), or
    None while its condition holds: such an alert is recovering, nothing to acknowledge."""
    return recovery.closes_at(alert)
