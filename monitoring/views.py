"""Pages about what is observed: the status page (grid and run timeline) and a source's page.

Both colour sources by their open alerts, so these pages (this module, ``status_page`` and
``source_page``) read the alerts app's tables. They are the only part of monitoring that does:
polling, sync and push never import alerts, so observing stays independent of judging
(docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from confops.common import htmx
from monitoring import source_page, status_page
from monitoring.filters import StatusFilters
from monitoring.models import Source

# Both pages show sources and their alerts: the Viewer role's reading rights (alerts/roles.py).
# Anonymous visitors are sent to the login by the middleware; others without them get 403.
READ = ("monitoring.view_source", "alerts.view_alert")
reader_only = permission_required(READ, raise_exception=True)


@require_GET
@reader_only
def status(request: HttpRequest) -> HttpResponse:
    """The grid of sources and the run timeline; its parts refresh themselves through htmx."""
    now = timezone.now()
    filters = StatusFilters.from_query(request.GET)
    fragment = htmx.partial(request)
    context: dict[str, Any] = {
        "page": status_page.build(filters, now, with_options=not fragment),
        "filters": filters,
        "refresh_seconds": settings.STATUS_REFRESH_SECONDS,
        "query": filters.query_string(),
    }
    response = htmx.render_partial(
        request, "monitoring/status.html", "monitoring/partials/status_refresh.html", context
    )
    if fragment and request.htmx.trigger == "status-filters":  # type: ignore[attr-defined]
        # The form sends every field, empty or not; the address bar gets the canonical URL.
        push_url(response, f"{reverse('home')}?{context['query']}".rstrip("?"))
    return htmx.vary(response, "HX-Trigger")


@require_GET
@reader_only
def source_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One source: its health, trend, runs, checks, alerts, rules and runbook."""
    source = get_object_or_404(Source.objects.select_related("deployment"), slug=slug)
    now = timezone.now()
    metric = (request.GET.get("metric") or "count").strip()[:100]
    runs = source_page.runs_page(source, request.GET.get("page"), metric)
    if htmx.partial(request, "source-runs"):  # a page of runs: the rest is not built
        context = {"source": source, "runs": runs, "metric": metric}
    else:
        context = source_page.build(source, metric, now) | {"runs": runs}
    return htmx.render_partial(
        request,
        "monitoring/source.html",
        "monitoring/partials/source_runs.html",
        context,
        target="source-runs",
    )
