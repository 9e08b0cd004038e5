"""Absolute links into confops for messages sent out. Pages move: change them here only."""

from __future__ import annotations

from django.conf import settings


def absolute(path: str) -> str:
    return f"{settings.CONFOPS_BASE_URL}/{path.lstrip('/')}"


def alert_url(alert_id: int) -> str:
    """Where an operator sees and acknowledges an alert (the alerts page of the operator UI)."""
    return absolute(f"alerts/{alert_id}/")


def runbook_url(slug: str) -> str:
    return absolute(f"runbooks/{slug}/")


def notification_admin_url(notification_id: int) -> str:
    return absolute(f"admin/alerts/notification/{notification_id}/change/")


def channel_admin_url(channel_id: int) -> str:
    return absolute(f"admin/alerts/channel/{channel_id}/change/")
