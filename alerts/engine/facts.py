"""What a firing message tells on-call beyond the rule's summary: since when, the last success,
how many runs failed, the deployment and the downstream assets affected.

Gathered when the outbox row is written (the payload is a snapshot), so a resent message says
what the first one said.
"""

from __future__ import annotations

from typing import Any

from alerts.models import Alert


def for_alert(alert: Alert) -> dict[str, Any]:
    """The facts of one alert, as JSON-ready payload keys."""
    return {}
