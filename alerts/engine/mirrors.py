"""Two-way channels: what each shows of an incident, and keeping it in step with confops.

A two-way kind (``Transport.mirrors_incidents``: the Slack app, PagerDuty) keeps one message per
incident (alerts/notify/thread.py). Delivery reads the stored :class:`IncidentMirror` before a send
and writes back what the transport answered after a successful one. State changes made by a
person (acknowledge, unacknowledge) are messages only these channels get: a one-way channel
hears nothing new, a two-way one edits its message.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from alerts.models import Channel, Incident, IncidentMirror, Notification
from alerts.notify.messages import Message
from alerts.notify.thread import Thread
from alerts.notify.transports import Transport


def with_thread(notification: Notification, transport: Transport, message: Message) -> Message:
    """The message with the channel's thread of its incident, for a two-way kind."""
    if not (transport.mirrors_incidents and notification.incident_id and notification.channel_id):
        return message
    mirror = IncidentMirror.objects.filter(
        channel_id=notification.channel_id, incident_id=notification.incident_id
    ).first()
    return replace(message, thread=mirror.thread() if mirror else Thread())


def remember(notification: Notification, thread: Thread | None, now: datetime) -> None:
    """Store what a two-way channel shows of the incident after this row's send."""
    if thread is None or not thread.reference:
        return
    if not (notification.incident_id and notification.channel_id):
        return
    shown = {
        "reference": thread.reference,
        "conversation": thread.conversation,
        "remote_state": thread.remote_state,
        "last_notification_id": thread.last_notification_id or notification.pk,
        "updated_at": now,
    }
    IncidentMirror.objects.update_or_create(
        channel_id=notification.channel_id,
        incident_id=notification.incident_id,
        defaults=shown,
        create_defaults={**shown, "created_at": now},
    )


def mirroring_channels(incident: Incident) -> list[Channel]:
    """The enabled two-way channels that were told of the incident."""
    told = Channel.objects.filter(enabled=True, notifications__incident=incident).distinct()
    return [c for c in told if (kind := c.transport_class()) and kind.mirrors_incidents]
