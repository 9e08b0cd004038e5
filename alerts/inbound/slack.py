"""Slack button presses acting on confops: the Slack app channel's interactivity request URL
(``POST /integrations/slack/<channel id>/actions``) and the work it hands to a worker.

The view only proves the request came from Slack (the channel's signing secret, HMAC-SHA256 of
``v0:timestamp:body``, timestamps older than 5 minutes refused, by ``slack_sdk``), refuses a
repeat (``InboundRequest``: a replay or one of Slack's retries) and queues the press: Slack
wants an answer within 3 s, and acting may ask Slack who pressed and Dagster to re-execute.
:func:`handle_action` does the rest and knows nothing of HTTP, so Socket Mode can call it too.

Buttons (the Slack app transport draws them): ``value`` is ``{"incident": id, "alert": id}``.
Each action needs the permission the portal's own button needs; a presser without it, or whom
confops cannot map to one active user, gets an ephemeral "not allowed" and nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from alerts import operations
from alerts.choices import IncidentState
from alerts.models import Alert, Channel, ChatIdentity, InboundRequest, Incident
from confops.common.markup import slack_escape
from monitoring.dagster.errors import DagsterError

logger = logging.getLogger(__name__)

PROVIDER = "slack"
KIND = "slack_app"
# alerts/tasks.py registers the task by this name; named, not imported (tasks imports this).
ACTION_TASK = "alerts.handle_slack_action"
# Slack refuses timestamps older than 5 minutes; a seen request is kept a little longer.
SEEN_FOR = timedelta(minutes=10)
SLACK_TIMEOUT_SECONDS = 5
ACTOR_LABEL = "Slack"


class Refused(Exception):
    """The press changes nothing; the message says why (shown to the presser only)."""


@dataclass(frozen=True)
class Press:
    """One button press of a ``block_actions`` payload."""

    action_id: str
    incident_id: int | None
    alert_id: int | None
    team_id: str
    user_id: str
    response_url: str


# --- the request URL ------------------------------------------------------------------------


@csrf_exempt
@login_not_required
@require_POST
def actions(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Verify, refuse repeats, queue the press and answer Slack at once. An unknown channel
    answers 401 like a bad signature: the URL tells an outsider no channel id."""
    channel = Channel.objects.filter(pk=channel_id, kind=KIND).first()
    if channel is None or not signed_by_slack(channel, request):
        logger.warning("slack action refused: bad signature (channel %s)", channel_id)
        return HttpResponse("invalid signature", status=401, content_type="text/plain")
    now = timezone.now()
    if not first_time(request, now):
        return HttpResponse(status=200)  # a replay or Slack's retry: acted on already
    try:
        payload = json.loads(request.POST.get("payload") or "")
    except ValueError:
        return HttpResponse("no payload", status=400, content_type="text/plain")
    transaction.on_commit(lambda: current_app.tasks[ACTION_TASK].delay(channel.pk, payload))
    return HttpResponse(status=200)


def signed_by_slack(channel: Channel, request: HttpRequest) -> bool:
    """The channel's signing secret signed this body less than 5 minutes ago."""
    secret = str((channel.config or {}).get("signing_secret") or "")
    if not secret.strip():
        return False
    return SignatureVerifier(secret).is_valid_request(request.body, dict(request.headers))


def first_time(request: HttpRequest, now: datetime) -> bool:
    """Record the request (and forget those Slack would refuse as stale anyway)."""
    headers = request.headers
    raw = (
        headers.get("X-Slack-Signature", "").encode()
        + headers.get("X-Slack-Request-Timestamp", "").encode()
        + request.body
    )
    return first_sight(raw, now)


def first_sight(raw: bytes, now: datetime) -> bool:
    """Record what Slack delivered (a request, a Socket Mode envelope id); False when seen
    already. Rows older than Slack would still retry are forgotten here, at insert."""
    InboundRequest.objects.filter(provider=PROVIDER, received_at__lt=now - SEEN_FOR).delete()
    return InboundRequest.first_time(PROVIDER, hashlib.sha256(raw).hexdigest(), now)


# --- acting on a press ----------------------------------------------------------------------


def handle_action(channel_id: int, payload: dict[str, Any], now: datetime) -> str:
    """Act on one press as the confops user behind it; returns what happened (for the log).

    Refusals (unmapped presser, missing permission, incident already in that state) are told
    to the presser alone through the payload's ``response_url``."""
    channel = Channel.objects.filter(pk=channel_id, kind=KIND).first()
    press = read_press(payload)
    if channel is None or press is None or press.action_id not in ACTIONS:
        return "ignored"
    action = ACTIONS[press.action_id]
    try:
        user = pressed_by(channel, press, now)
        if user is None or not user.has_perm(action.permission):
            raise Refused(f"You are not allowed to {action.verb} in confops.")
        done = action.run(press, user, now)
    except (Refused, ValidationError) as refusal:  # a door's refusal: a press raced another
        why = refusal.messages if isinstance(refusal, ValidationError) else [str(refusal)]
        reply(press, " ".join(why))
        logger.info("slack %s refused (channel %s)", press.action_id, channel.pk)
        return "refused"
    if done:
        reply(press, done)
    return "done"


def read_press(payload: dict[str, Any]) -> Press | None:
    """The first of our buttons in a ``block_actions`` payload; None for anything else."""
    if payload.get("type") != "block_actions" or not payload.get("actions"):
        return None
    action = payload["actions"][0]
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        value = {}
    user = payload.get("user") or {}
    team = (payload.get("team") or {}).get("id") or user.get("team_id") or ""
    return Press(
        action_id=str(action.get("action_id") or ""),
        incident_id=as_id(value.get("incident")),
        alert_id=as_id(value.get("alert")),
        team_id=str(team),
        user_id=str(user.get("id") or ""),
        response_url=str(payload.get("response_url") or ""),
    )


def as_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def reply(press: Press, text: str) -> None:
    """An ephemeral message to the presser alone, leaving the incident's message as it is."""
    if not press.response_url:
        return
    try:
        WebhookClient(press.response_url, timeout=SLACK_TIMEOUT_SECONDS).send(
            text=slack_escape(text), response_type="ephemeral", replace_original=False
        )
    except (SlackClientError, OSError) as exc:
        logger.warning("slack reply failed: %s", type(exc).__name__)


# --- who pressed ------------------------------------------------------------------------------


def pressed_by(channel: Channel, press: Press, now: datetime) -> Any:
    """The active confops user linked to the Slack user, linking them by email the first time
    (the one active user with the Slack profile's email); None when there is no such user."""
    link = (
        ChatIdentity.objects.filter(
            provider=PROVIDER, workspace=press.team_id, external_id=press.user_id
        )
        .select_related("user")
        .first()
    )
    if link is not None:
        return link.user if link.user.is_active else None
    profile = slack_profile(channel, press.user_id)
    email = str(profile.get("email") or "").strip()
    if not email:
        return None
    users = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    if len(users) != 1:
        return None
    ChatIdentity.objects.get_or_create(
        provider=PROVIDER,
        workspace=press.team_id,
        external_id=press.user_id,
        defaults={
            "user": users[0],
            "display_name": str(profile.get("real_name") or profile.get("display_name") or ""),
            "linked_at": now,
        },
    )
    return users[0]


def slack_profile(channel: Channel, user_id: str) -> dict[str, Any]:
    """``users.info``'s profile of the presser (needs the ``users:read.email`` scope)."""
    client = WebClient(
        token=channel.secret, base_url=settings.SLACK_API_URL, timeout=SLACK_TIMEOUT_SECONDS
    )
    try:
        answer = client.users_info(user=user_id)
    except SlackApiError as exc:
        logger.warning("slack users.info refused: %s", exc.response.get("error"))
        return {}
    except (SlackClientError, OSError) as exc:
        logger.warning("slack users.info failed: %s", type(exc).__name__)
        return {}
    return dict((answer.get("user") or {}).get("profile") or {})


# --- the actions --------------------------------------------------------------------------------


def incident_of(press: Press) -> Incident:
    incident = Incident.objects.filter(pk=press.incident_id or 0).first()
    if incident is None:
        raise Refused("This incident no longer exists in confops.")
    return incident


def acknowledge(press: Press, user: Any, now: datetime) -> str:
    incident = incident_of(press)
    if incident.state == IncidentState.ACKNOWLEDGED:
        who = incident.acknowledged_by.get_username() if incident.acknowledged_by else "someone"
        raise Refused(f"This incident was already acknowledged by {who}.")
    if not incident.is_open:
        raise Refused("This incident is resolved: there is nothing to acknowledge.")
    operations.acknowledge_incident(incident, user, "", now, actor_label=ACTOR_LABEL)
    return ""  # the incident's message shows who acknowledged


def silence_hour(press: Press, user: Any, now: datetime) -> str:
    incident = incident_of(press)
    members = [a for a in incident.alerts.all() if a.is_open]
    if not members:
        raise Refused("This incident has no open alert to silence.")
    if all(a.silenced_by is not None and a.silenced_by.is_active(now) for a in members):
        raise Refused("Every open alert of this incident is already silenced.")
    for alert in members:
        operations.silence_alert(
            alert, 1, user, now, comment="Silenced for 1 h from Slack", actor_label=ACTOR_LABEL
        )
    return f"Silenced {len(members)} alert(s) of this incident for 1 h."


def resolve(press: Press, user: Any, now: datetime) -> str:
    incident = incident_of(press)
    if not incident.is_open:
        raise Refused("This incident is already resolved.")
    operations.resolve_incident(incident, user, now, actor_label=ACTOR_LABEL)
    return ""  # the incident's message shows it resolved


def reexecute(press: Press, user: Any, now: datetime) -> str:
    alert = Alert.objects.filter(pk=press.alert_id or 0).first()
    if alert is None or not operations.can_reexecute(alert):
        raise Refused("This alert names no Dagster run confops can re-execute.")
    try:
        new_run_id = operations.reexecute(alert, user, now, actor_label=ACTOR_LABEL)
    except ValidationError as exc:
        raise Refused(" ".join(exc.messages)) from exc
    except DagsterError as exc:
        raise Refused(f"Dagster did not re-execute the run: {exc}") from exc
    return f"Dagster launched run {new_run_id}."


@dataclass(frozen=True)
class Action:
    """A button: the portal permission it needs, what it does (said in a refusal) and how."""

    permission: str
    verb: str
    run: Callable[[Press, Any, datetime], str]


ACTIONS: dict[str, Action] = {
    "confops_ack": Action("alerts.acknowledge_alert", "acknowledge incidents", acknowledge),
    "confops_silence_1h": Action("alerts.silence_alert", "silence alerts", silence_hour),
    "confops_resolve": Action("alerts.resolve_alert", "resolve incidents", resolve),
    "confops_reexecute": Action("alerts.reexecute_run", "re-execute runs", reexecute),
}
