"""Absolute links into confops for messages sent out. Pages move: change them here only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core import signing

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


# One-use acknowledge links (Teams cards cannot carry buttons that post back): a signed,
# timestamped incident id. Its own salt, so no other signed value of confops opens it.
ACK_LINK_SALT = "confops.alerts.ack-link"


class SignerAt(signing.TimestampSigner):
    """A TimestampSigner whose timestamp is a given moment, not the clock's: a message's link
    is signed as of when the message was written, so a resend says what the first send said."""

    def __init__(self, at: datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at = at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self.at.timestamp()))


def ack_token(incident_id: int, at: datetime) -> str:
    return SignerAt(at, salt=ACK_LINK_SALT).sign(str(incident_id))


def ack_link_url(incident_id: int, at: datetime) -> str:
    """Where a message's "Acknowledge" link leads: a confirm page (opening it never acts, link
    previewers fetch it), valid ACK_LINK_MAX_AGE_HOURS from ``at`` (when the message was
    written)."""
    return absolute(f"integrations/ack/{ack_token(incident_id, at)}")


def incident_of_ack_token(token: str) -> int:
    """The incident id an acknowledge link was signed for; raises ``signing.SignatureExpired``
    (too old) or ``signing.BadSignature`` (tampered, or not one of ours)."""
    max_age = timedelta(hours=settings.ACK_LINK_MAX_AGE_HOURS)
    value = signing.TimestampSigner(salt=ACK_LINK_SALT).unsign(token, max_age=max_age)
    try:
        return int(value)
    except ValueError:
        raise signing.BadSignature("not an incident id") from None
