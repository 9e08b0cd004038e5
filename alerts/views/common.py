"""Helpers shared by the views: permission-checked views and safe redirects (htmx:
confops.common.htmx)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

ViewFunc = Callable[..., HttpResponse]

# The status and source pages (and the report's) show sources and their alerts: the Viewer
# role's reading rights. Anonymous visitors are sent to the login by the
# middleware; others without them get 403.
READ = ("monitoring.view_source", "alerts.view_alert")
reader_only = permission_required(READ, raise_exception=True)


def needs(perm: str) -> Callable[[ViewFunc], ViewFunc]:
    """Refuse with 403 (never a login redirect) to a logged-in user without ``perm``."""
    return permission_required(perm, raise_exception=True)


def safe_next(request: HttpRequest, default: str) -> str:
    """The page to go back to after an action, if it is one of ours."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if candidate and allowed else default


def see_other(url: str) -> HttpResponse:
    """Redirect after a POST with 303, so that a reload does not repeat the action."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def context_with(request: HttpRequest, **values: Any) -> dict[str, Any]:
    return {"next_url": safe_next(request, request.get_full_path()), **values}
