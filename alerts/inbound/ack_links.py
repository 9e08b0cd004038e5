"""``/integrations/ack/<token>``: the one-use acknowledge link of a Teams card (or an email).

A card in Teams cannot post back, so its "Acknowledge" button opens this link. Link previewers,
mail scanners and chat unfurlers fetch URLs on their own, so opening it never acts: a GET shows
what would be acknowledged and a button (a CSRF form); only the POST acknowledges. The link is
not a login: LoginRequiredMiddleware sends a visitor without a session to the login page and
back, and the user's role decides (an Operator may acknowledge, a viewer may not). The token is
the incident id signed with a timestamp (``alerts.notify.links``): expired or tampered, it is
refused with 400; used once (its SHA-256 in ``InboundRequest``), it is refused with 410.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from alerts import operations
from alerts.models import InboundRequest, Incident
from alerts.notify.links import incident_of_ack_token
from alerts.views.common import see_other

PROVIDER = "ack-link"
ACTOR_LABEL = "acknowledge link"
PERMISSION = "alerts.acknowledge_alert"
TEMPLATE = "alerts/ack_link.html"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def refused(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    return render(request, TEMPLATE, {"refused": reason}, status=status)


@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the confirm page; POST: acknowledge the incident once, through the one door.

    The role is checked first: a user who may not acknowledge learns nothing from a link,
    not even whether it is valid or its incident exists."""
    if not request.user.has_perm(PERMISSION):
        return refused(request, "Your role may see incidents but not acknowledge them.", 403)
    try:
        incident_id = incident_of_ack_token(token)
    except signing.SignatureExpired:
        return refused(request, "This acknowledge link has expired. Open the incident.", 400)
    except signing.BadSignature:
        return refused(request, "This acknowledge link is not valid.", 400)
    incident = get_object_or_404(Incident, pk=incident_id)
    if InboundRequest.objects.filter(provider=PROVIDER, digest=digest(token)).exists():
        return already_used(request)
    if request.method == "GET":
        return render(request, TEMPLATE, {"incident": incident, "members": incident.alerts.all()})
    return confirmed(request, incident_id, token)


def already_used(request: HttpRequest) -> HttpResponse:
    return refused(request, "This link was already used; nothing was changed.", 410)


def confirmed(request: HttpRequest, incident_id: int, token: str) -> HttpResponse:
    """Burn the token and acknowledge, in one transaction with the incident locked: of two
    presses of one link exactly one acknowledges."""
    now = timezone.now()
    with transaction.atomic():
        incident = get_object_or_404(Incident.objects.select_for_update(), pk=incident_id)
        if not InboundRequest.first_time(PROVIDER, digest(token), now):
            return already_used(request)
        try:
            operations.acknowledge_incident(incident, request.user, "", now, ACTOR_LABEL)
        except ValidationError as exc:
            reason = f"Nothing was acknowledged: {' '.join(exc.messages)}."
            return render(request, TEMPLATE, {"incident": incident, "refused": reason}, status=409)
    messages.success(request, "Acknowledged with all its alerts")
    return see_other(reverse("alerts:incident-detail", args=[incident_id]))
