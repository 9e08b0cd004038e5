"""What a two-way channel keeps of an incident between sends (``alerts.models.IncidentMirror``).

A two-way kind (``Transport.mirrors_incidents``: the Slack app, PagerDuty) shows one thing per
incident and changes it as the incident changes: Slack's root message, edited in place through
its ``ts``; PagerDuty's incident, addressed by its ``dedup_key``. Delivery hands the transport the
:class:`Thread` stored for (channel, incident) on ``Message.thread`` and stores what the
transport answers in ``SendResult.thread``; a transport never reads or writes the database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thread:
    """``reference``: the remote id of the incident's message (Slack ``ts``, PagerDuty dedup
    key); ``conversation``: where it lives (a Slack channel id); ``remote_state``: the incident
    state the remote shows (open, acknowledged, resolved); ``last_notification_id``: the outbox
    row that last changed it, so a late retry of an older row does not roll the message back."""

    reference: str = ""
    conversation: str = ""
    remote_state: str = ""
    last_notification_id: int | None = None

    def is_newer(self, notification_id: int | None) -> bool:
        """Whether a row may change the remote: not older than the last one that did."""
        return (
            notification_id is None
            or self.last_notification_id is None
            or notification_id >= self.last_notification_id
        )
