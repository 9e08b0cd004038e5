"""``GET /metrics``: the Prometheus text format, for a scraper the settings let in.

With ``METRICS_BEARER_TOKEN`` and/or ``METRICS_ALLOWED_IPS`` set, a scraper needs the token
(401 otherwise) and an allowed address (403 otherwise), no login. With neither, the endpoint is
behind login like every page and needs the Viewer's ``monitoring.view_source``: sources and rule
names are not for anonymous eyes.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from confops.common.addresses import client_address
from confops.runtime.metrics import Scope, registry
from monitoring.filters import PUSHED
from monitoring.models import Deployment


def scraper_refusal(request: HttpRequest) -> HttpResponse | None:
    """Why a scraper is refused (403 address, 401 token), or None when it may read."""
    networks = settings.METRICS_ALLOWED_NETWORKS
    if networks and not address_allowed(client_address(request), networks):
        return HttpResponse("address not allowed\n", status=403, content_type="text/plain")
    expected = settings.METRICS_BEARER_TOKEN
    if expected and not token_matches(request.headers.get("Authorization", ""), expected):
        response = HttpResponse("bearer token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


def address_allowed(
    address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def token_matches(header: str, expected: str) -> bool:
    """Compared in constant time, so response times do not leak how much of a guess was right."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@require_GET
@never_cache
@login_not_required
def metrics(request: HttpRequest) -> HttpResponse:
    if settings.METRICS_BEARER_TOKEN or settings.METRICS_ALLOWED_NETWORKS:
        refusal = scraper_refusal(request)
        if refusal is not None:
            return refusal
    elif not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    elif not request.user.has_perm("monitoring.view_source"):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    scope = Scope(request.GET.get("deployment"), request.GET.get("scope") == "fleet")
    known = Deployment.objects.filter(name=scope.deployment)
    if scope.deployment not in (None, PUSHED) and not known.exists():
        return HttpResponse("no such deployment\n", status=404, content_type="text/plain")
    return HttpResponse(generate_latest(registry(scope)), content_type=CONTENT_TYPE_PLAIN_0_0_4)
