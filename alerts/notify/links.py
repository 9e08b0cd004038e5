"""Absolute links into confops for messages sent out. Pages move: change them here only."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from django.conf import settings

# Links in a runbook that a message may carry as they are; any other scheme is left out.
LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def absolute(path: str) -> str:
    return f"{settings.CONFOPS_BASE_URL}/{path.lstrip('/')}"


def alert_url(alert_id: int) -> str:
    """Where an operator sees and acknowledges an alert (the alerts page of the operator UI)."""
    return absolute(f"alerts/{alert_id}/")


def runbook_url(slug: str) -> str:
    return absolute(f"runbooks/{slug}/")


def from_runbook(href: str, slug: str) -> str:
    """A link written in a runbook, as an absolute URL a mail or chat reader can open: a
    site path (``/runbooks/volume-drop/``) is put under the base URL, a relative one is read
    from the runbook's page; empty for a scheme other than http, https and mailto."""
    href = href.strip()
    scheme = urlsplit(href).scheme.lower()
    if scheme:
        return href if scheme in LINK_SCHEMES else ""
    if href.startswith("//"):
        return ""
    if href.startswith("/"):
        return absolute(href)
    return urljoin(runbook_url(slug), href)


def notification_admin_url(notification_id: int) -> str:
    return absolute(f"admin/alerts/notification/{notification_id}/change/")


def channel_admin_url(channel_id: int) -> str:
    return absolute(f"admin/alerts/channel/{channel_id}/change/")


def incident_url(incident_id: int) -> str:
    """Where an operator sees an incident's alerts and acknowledges them all at once."""
    return absolute(f"incidents/{incident_id}/")
