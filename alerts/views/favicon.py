"""``/favicon.ico``: browsers ask for it on every page that names no icon; a 404 each time filled
the logs and left background tabs blank (issue 18). The status and alerts pages link the icon
of their worst state (templates/alerts/partials/tab_head.html); this answers the rest with the
neutral one, to anyone, as SVG (every current browser takes an SVG icon)."""

from __future__ import annotations

from functools import cache

from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

NEUTRAL_ICON = "confops/favicon/neutral.svg"


@cache
def neutral_icon() -> bytes:
    path = finders.find(NEUTRAL_ICON)
    if not isinstance(path, str):
        raise FileNotFoundError(NEUTRAL_ICON)
    with open(path, "rb") as icon:
        return icon.read()


@require_GET
@login_not_required
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(neutral_icon(), content_type="image/svg+xml")
