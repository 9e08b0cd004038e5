"""Which address a request came from, the one rule login throttling and /metrics share.

Behind a reverse proxy every request arrives from the proxy, so ``REMOTE_ADDR`` would make one
address of all clients: login throttling would count everyone's failures together (lock out a
user for everybody) and an allow-list would admit whoever the proxy forwards. Each trusted proxy
appends the address it saw to ``X-Forwarded-For``; with ``TRUSTED_PROXY_COUNT`` proxies in front,
the client is the entry that many from the right. Entries further left were written by the client
itself and are never believed.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address as the nearest trusted proxy saw it, or the socket's peer."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [
        entry.strip()
        for entry in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if entry.strip()
    ]
    if len(forwarded) < proxies:
        return peer  # not through all our proxies: the peer is the only address we know
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
