"""PagerDuty telling confops what a person did there: ``POST /integrations/pagerduty/<channel
id>/webhook``, the URL of a v3 webhook subscription on the channel's service.

PagerDuty signs each delivery: ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>``
with the subscription's secret, several comma-separated while a secret rotates; one matching
the channel's ``webhook_secret`` is needed (compared in constant time), else 401. A delivery
is acted on once (``InboundRequest``, by the body's digest: PagerDuty retries a delivery it
thinks failed). ``incident.acknowledged``, ``incident.unacknowledged`` and ``incident.resolved``
act on the confops incident whose PagerDuty dedup key (``incident_key``) this channel holds
(``IncidentMirror``), through ``alerts/operations.py``, audited as "PagerDuty: <who>" (as the
linked confops user when a ``ChatIdentity`` maps the PagerDuty user). The channel's thread is
first set to the state PagerDuty shows, so the message confops then sends of the change is not
sent back (alerts/notify/transports/pagerduty.py). Anything else, an incident confops does not
know, or a change confops already shows is answered 200 and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alerts import operations
from alerts.choices import ChannelKind, IncidentState
from alerts.models import Channel, ChatIdentity, InboundRequest, IncidentMirror

logger = logging.getLogger(__name__)

PROVIDER = "pagerduty"
KIND = ChannelKind.PAGERDUTY
SIGNATURE_HEADER = "X-PagerDuty-Signature"
# What each event asks of an incident in a given state, and what PagerDuty then shows.
NEEDS = {
    "incident.acknowledged": (IncidentState.OPEN, "acknowledged"),
    "incident.unacknowledged": (IncidentState.ACKNOWLEDGED, "triggered"),
    "incident.resolved": (None, "resolved"),  # None: any open state
}


@csrf_exempt
@login_not_required
@require_POST
def webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = Channel.objects.filter(pk=channel_id, kind=KIND).first()
    secret = str((channel.config or {}).get("webhook_secret") or "") if channel else ""
    # No channel or no secret to check against: as unproven as a bad signature (and no hint
    # which channel ids exist).
    if channel is None or not signed(
        request.body, request.headers.get(SIGNATURE_HEADER, ""), secret
    ):
        return HttpResponse("bad signature", status=401, content_type="text/plain")
    now = timezone.now()
    digest = hashlib.sha256(request.body).hexdigest()
    if not InboundRequest.first_time(PROVIDER, digest, now):
        return HttpResponse("already handled", content_type="text/plain")
    try:
        event = json.loads(request.body)["event"]
    except (ValueError, KeyError, TypeError):
        return HttpResponse("not a v3 webhook event", status=400, content_type="text/plain")
    outcome = act(channel, event, now)
    logger.info("pagerduty webhook on channel %s: %s", channel.pk, outcome)
    return HttpResponse(outcome, content_type="text/plain")


def signed(body: bytes, header: str, secret: str) -> bool:
    """Whether one of the header's ``v1=`` signatures is the body's HMAC with ``secret``."""
    if not secret:
        return False
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    offered = [part.strip() for part in header.split(",") if part.strip()]
    # Every one compared, in constant time each: which one matched is not timed either.
    return any([hmac.compare_digest(expected, sig) for sig in offered])


def act(channel: Channel, event: dict[str, Any], now: datetime) -> str:
    """Apply one webhook event to the incident it names; what happened, for the log."""
    kind = str(event.get("event_type") or "")
    if kind not in NEEDS:
        return f"ignored {kind or 'event'}"
    data = event.get("data") or {}
    key = str(data.get("incident_key") or "")
    mirror = (
        IncidentMirror.objects.select_related("incident")
        .filter(channel=channel, reference=key)
        .first()
        if key
        else None
    )
    if mirror is None:
        return "unknown incident"
    needed, shown = NEEDS[kind]
    incident = mirror.incident
    if not incident.is_open or (needed is not None and incident.state != needed):
        return f"incident {incident.pk} is {incident.state} already"
    agent = event.get("agent") or {}
    label = f"PagerDuty: {agent.get('summary') or 'someone'}"
    user = linked_user(str(agent.get("id") or ""))
    try:
        with transaction.atomic():
            IncidentMirror.objects.filter(pk=mirror.pk).update(remote_state=shown, updated_at=now)
            apply(kind, incident, user, now, label)
    except ValidationError as exc:  # changed meanwhile by someone else
        return f"incident {incident.pk}: {'; '.join(exc.messages)}"
    return f"{kind} applied to incident {incident.pk}"


def apply(kind: str, incident: Any, user: Any, now: datetime, label: str) -> None:
    if kind == "incident.acknowledged":
        operations.acknowledge_incident(incident, user, "acknowledged in PagerDuty", now, label)
    elif kind == "incident.unacknowledged":
        operations.unacknowledge_incident(incident, user, now, label)
    else:
        operations.resolve_incident(incident, user, now, label)


def linked_user(pagerduty_user_id: str) -> Any:
    """The confops user a PagerDuty user is linked to (None when not linked)."""
    if not pagerduty_user_id:
        return None
    identity = (
        ChatIdentity.objects.select_related("user")
        .filter(provider=PROVIDER, external_id=pagerduty_user_id, user__is_active=True)
        .first()
    )
    return identity.user if identity else None
