"""Keeping two-way channels in step after an outage: what closed or was acknowledged in confops
while PagerDuty (or Slack) was unreachable is told again once the outbox gave up on it.

The outbox retries each row a bounded number of times; a receiver down longer than that keeps
showing the incident open: an orphan page. Every minute (confops/beat.py) :func:`reconcile`
looks at the channels' threads (``IncidentMirror``) whose shown state is behind the incident's
and, when no row to that channel about that incident is still on its way (pending or
sending), writes a fresh one through the policy. Nothing is doubled: never while a row is in
flight, never after a row the receiver refused for good, and at most one per ``EVERY`` per
thread while the receiver stays down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from alerts.choices import IncidentState, NotificationEvent, NotificationStatus
from alerts.engine import policy
from alerts.models import DeliveryAttempt, IncidentMirror, Notification

IN_FLIGHT = (NotificationStatus.PENDING, NotificationStatus.SENDING)
# Not more often than this per thread: a row written by the reconciler retries for ~10 minutes.
EVERY = timedelta(minutes=10)
RESOLVED, ACKNOWLEDGED = "resolved", "acknowledged"


def reconcile(now: datetime) -> int:
    """Write the resolved (or acknowledged) message a thread missed; how many were written."""
    behind = IncidentMirror.objects.select_related("channel", "incident").filter(
        Q(incident__state=IncidentState.RESOLVED) & ~Q(remote_state=RESOLVED)
        | Q(incident__state=IncidentState.ACKNOWLEDGED)
        & ~Q(remote_state__in=(ACKNOWLEDGED, RESOLVED)),
        channel__enabled=True,
    )
    written = 0
    for mirror in behind:
        if due(mirror, now):
            written += tell(mirror, now)
    return written


def due(mirror: IncidentMirror, now: datetime) -> bool:
    """No row to this channel about this incident in flight, refused for good, or recent."""
    rows = Notification.objects.filter(channel=mirror.channel, incident=mirror.incident)
    if rows.filter(status__in=IN_FLIGHT).exists():
        return False
    newest = rows.order_by("-created_at", "-pk").first()
    if newest is None:
        return True
    if newest.created_at > now - EVERY:
        return False
    refused = DeliveryAttempt.objects.filter(notification=newest, permanent=True).exists()
    return not (newest.status == NotificationStatus.FAILED and refused)


def tell(mirror: IncidentMirror, now: datetime) -> int:
    incident = mirror.incident
    event = (
        NotificationEvent.RESOLVED
        if incident.state == IncidentState.RESOLVED
        else NotificationEvent.ACKNOWLEDGED
    )
    return policy.tell_incident_state(incident, event, [mirror.channel], now)
