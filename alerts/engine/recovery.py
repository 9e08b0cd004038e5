"""When a recovering alert closes: the moment the pages and the API show for an open alert whose
condition has cleared and which waits out its rule's resolve hold (``evaluation.clear``
resolves it then, unless the condition returns)."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.models import Alert


def closes_at(alert: Alert) -> datetime | None:
    """When an open alert whose condition has cleared resolves if the condition stays away (its
    rule's resolve hold after it cleared); None while the condition holds, or once closed."""
    if alert.clear_since is None or not alert.is_open:
        return None
    return alert.clear_since + timedelta(minutes=alert.rule.resolve_hold_minutes)
