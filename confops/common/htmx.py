"""One view serves the page or its fragment: the single rule for which one, and the Vary it needs.

NetBox's ``htmx_partial()`` is the model. A fragment goes only to an htmx request that will swap
it into a page already on screen. A history restore (the back button after htmx's cache missed)
swaps the answer in as the whole body, and a boosted link replaces the page, so both need the
full page, as does a request without htmx. Every answer that may differ carries ``Vary`` on the
headers the choice read, so no cache (nor the browser's back button) serves one for the other.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

# The headers the choice between page and fragment reads (django-htmx's request.htmx).
VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def partial(request: HttpRequest, target: str | None = None) -> bool:
    """Whether the request asks for a fragment (aimed at the element id ``target``, if given)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def vary(response: HttpResponse, *headers: str) -> HttpResponse:
    """Mark ``response`` as depending on the htmx headers (and any other it read)."""
    patch_vary_headers(response, [*VARY, *headers])
    return response


def render_partial(
    request: HttpRequest,
    page: str,
    fragment: str,
    context: dict[str, Any],
    *,
    target: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``fragment`` for a fragment request (see ``partial``), else ``page``, with Vary."""
    template = fragment if partial(request, target) else page
    response = render(request, template, context, status=status)
    return vary(response, "HX-Target") if target else vary(response)


def refresh_seconds() -> int:
    """How often a page's changing lists refresh themselves (status, alerts, silences)."""
    return int(settings.STATUS_REFRESH_SECONDS)


def noscript_reload_seconds() -> int:
    """How often a self-refreshing page reloads whole without JavaScript (a ``<noscript>`` meta
    refresh): four refresh intervals, at least a minute, so a reader's scroll is not lost too
    often while the page still never shows data older than that."""
    return max(refresh_seconds() * 4, 60)


def live_region(request: HttpRequest, target: str) -> dict[str, Any]:
    """What the region with id ``target`` needs to refresh itself: the address that rendered it
    (so its filters, page included, are kept) and the interval. static/confops/live.js pauses
    the refresh while the user types and says when it fails or falls behind."""
    return {"url": request.get_full_path(), "target": target, "seconds": refresh_seconds()}
