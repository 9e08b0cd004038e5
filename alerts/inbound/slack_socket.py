"""Slack button presses through Socket Mode: two-way Slack for a portal Slack cannot reach.

Slack posts presses to a request URL only when the portal is public. Otherwise the Slack app
opens a WebSocket to Slack (``apps.connections.open`` with the app-level token, ``xapp-...``,
scope ``connections:write``) and Slack sends the presses down it as ``interactive``
envelopes. :class:`SocketMode` keeps one such connection per enabled ``slack_app`` channel
that has an ``app_token`` (``slack_sdk``'s built-in client; it reconnects by itself), re-reads
the channels every minute (one added, disabled or whose token changed) and idles when there
is none. ``manage.py slack_socket_mode`` runs it as the ``slack`` process.

Each envelope is acknowledged at once (Slack wants it within 3 s and retries otherwise), then
acted on once (its ``envelope_id`` goes through ``InboundRequest``, as the request URL's
requests do) by the request URL's own :func:`alerts.inbound.slack.handle_action`: the same
mapping of the presser, permission checks and audit (actor label "Slack").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from alerts.inbound import slack
from alerts.models import Channel

logger = logging.getLogger(__name__)
# slack_sdk's own log lines (Socket Mode and Web API clients); kept at INFO at most: its DEBUG
# lines carry the WebSocket URL (a connection ticket) and whole payloads.
sdk_logger = logging.getLogger(f"{__name__}.sdk")
sdk_logger.setLevel(logging.INFO)
REFRESH_SECONDS = 60.0
INTERACTIVE = "interactive"


def wanted_tokens() -> dict[int, str]:
    """The app-level token of every enabled Slack app channel that has one, by channel id."""
    wanted = {}
    for pk, config in Channel.objects.filter(kind=slack.KIND, enabled=True).values_list(
        "pk", "config"
    ):
        token = str((config or {}).get("app_token") or "").strip()
        if token:
            wanted[pk] = token
    return wanted


def envelope_first_time(envelope_id: str, now: datetime) -> bool:
    """False for an envelope acted on already (Slack re-sends one it did not see acknowledged)."""
    return slack.first_sight(f"socket-mode:{envelope_id}".encode(), now)


def on_request(channel_id: int, client: SocketModeClient, request: SocketModeRequest) -> None:
    """Acknowledge the envelope at once, then act on a press (in the SDK's worker thread)."""
    if request.envelope_id:
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
    if request.type != INTERACTIVE or not request.envelope_id:
        return
    try:
        now = timezone.now()
        if not envelope_first_time(request.envelope_id, now):
            return
        outcome = slack.handle_action(channel_id, request.payload, now)
        logger.info("slack socket mode press %s (channel %s)", outcome, channel_id)
    finally:
        connections.close_all()  # this worker thread's own connections; none left open idle


@dataclass
class Connected:
    token: str
    client: SocketModeClient


class SocketMode:
    """One Socket Mode connection per Slack app channel with an app token, kept in step with
    the channels by :meth:`sync`."""

    def __init__(self, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.refresh_seconds = refresh_seconds
        self.connected: dict[int, Connected] = {}
        self._said_idle = False

    def run(self, stop: threading.Event) -> None:
        """Sync every ``refresh_seconds`` until ``stop`` is set, then close every connection."""
        try:
            while not stop.is_set():
                self.sync()
                connections.close_all()  # idle between refreshes without a database connection
                stop.wait(self.refresh_seconds)
        finally:
            self.close()
            connections.close_all()

    def sync(self) -> None:
        """Close connections of channels gone, disabled or re-tokened; open the missing ones."""
        try:
            wanted = wanted_tokens()
        except DatabaseError as exc:
            logger.warning("slack socket mode: channels not read (%s)", type(exc).__name__)
            return
        for channel_id, held in list(self.connected.items()):
            if wanted.get(channel_id) != held.token:
                self.drop(channel_id)
        for channel_id, token in wanted.items():
            if channel_id not in self.connected:
                self.open(channel_id, token)
        self.say_if_idle()

    def open(self, channel_id: int, token: str) -> None:
        """Connect; a refused token or an unreachable Slack is tried again at the next sync."""
        client = SocketModeClient(
            app_token=token,
            logger=sdk_logger,
            web_client=WebClient(
                base_url=settings.SLACK_API_URL,
                timeout=slack.SLACK_TIMEOUT_SECONDS,
                logger=sdk_logger,  # its DEBUG lines show apps.connections.open's answer
            ),
        )
        client.socket_mode_request_listeners.append(partial(on_request, channel_id))
        try:
            client.connect()
        except SlackApiError as exc:
            logger.warning(
                "slack socket mode: channel %s not connected: %s",
                channel_id,
                exc.response.get("error"),
            )
            client.close()
            return
        except (SlackClientError, OSError) as exc:
            logger.warning(
                "slack socket mode: channel %s not connected: %s", channel_id, type(exc).__name__
            )
            client.close()
            return
        self.connected[channel_id] = Connected(token, client)
        logger.info("slack socket mode: channel %s connected", channel_id)

    def drop(self, channel_id: int) -> None:
        held = self.connected.pop(channel_id)
        held.client.close()
        logger.info("slack socket mode: channel %s disconnected", channel_id)

    def close(self) -> None:
        for channel_id in list(self.connected):
            self.drop(channel_id)

    def say_if_idle(self) -> None:
        """One line when there is nothing to connect (the demo), not one a minute."""
        idle = not self.connected
        if idle and not self._said_idle:
            logger.info("slack socket mode: no Slack app channel with an app token; idle")
        self._said_idle = idle
