"""Middleware of our own: a request id in every log line and response; private responses; an
ended session moving an htmx page to the login whole."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from confops.common.context import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Accept ids from a proxy or client only when they are short and plain, so they cannot forge
# log lines or carry markup into the pages that show them.
ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def request_id_from(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if ACCEPTABLE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Accepts an incoming ``X-Request-ID`` or makes one, and returns it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        # Cleared on request_finished, not here: Django logs 4xx/5xx responses after the
        # middleware chain has returned, and those lines need the id too.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished)
def clear_request_id(**_: object) -> None:
    request_id_var.set(None)


class PrivateResponsesMiddleware:
    """``Cache-Control: private, no-store`` on every response for a logged-in user or a caller
    with an ``Authorization`` header (an API token, a metrics scraper).

    What they see (errors, deployments, alerts) is theirs: a shared proxy must not serve it to the
    next caller, and the browser must not keep it on disk after logging out. One place, so no view
    can forget it; a view's own ``public`` is overridden.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "Authorization" in request.headers:
            patch_cache_control(response, private=True, no_store=True)
        return response


NUL_MESSAGE = "NUL characters are not accepted"


class RefuseNulInQueryMiddleware:
    """A 400 for a NUL character in the path or query string, before any view runs.

    PostgreSQL text cannot hold NUL, so a search or filter that reaches the database with one
    (`/runbooks/?q=%00`, an admin search, an API filter) would fail as a 500. One check here
    covers every page, the admin and the API, which answers in its own JSON error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul(request):
            if request.path.startswith(API_PREFIX):
                return JsonResponse({"error": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


API_PREFIX = "/api/"


def has_nul(request: HttpRequest) -> bool:
    texts = [request.path]
    for key, values in request.GET.lists():
        texts += [key, *values]
    return any("\x00" in text for text in texts)


class HtmxLoginRedirectMiddleware:
    """An htmx request sent to the login page (the session ended) moves the whole page there.

    The browser's XMLHttpRequest follows a redirect by itself, so htmx would swap the login form
    into the middle of a page under stale data. Answered with ``HX-Redirect`` instead, htmx loads
    the login as the page, with ``next`` the page on screen (``HX-Current-URL``), not the fragment
    address. Sits outside ``LoginRequiredMiddleware`` so it sees that middleware's redirect.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or not goes_to_login(response):
            return response
        query = urlencode({REDIRECT_FIELD_NAME: current_page(request)})
        login = f"{resolve_url(settings.LOGIN_URL)}?{query}"
        answer = HttpResponseClientRedirect(login)
        patch_vary_headers(answer, ["HX-Request", "HX-Current-URL"])
        return answer


def goes_to_login(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308) or "Location" not in response:
        return False
    return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


def current_page(request: HttpRequest) -> str:
    """The path and query of the page on screen (only ours: the host is dropped)."""
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))
    if not shown.path.startswith("/"):
        return request.get_full_path()
    return f"{shown.path}?{shown.query}" if shown.query else shown.path
