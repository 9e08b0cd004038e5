"""The status page, the site's root: the grid of sources and the run timeline, coloured by open
alerts. It lives in alerts because it combines what is observed with what is judged; monitoring
knows nothing of alerts (docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from alerts.pages import status as status_page
from alerts.views.common import reader_only
from confops.common import htmx
from monitoring.filters import StatusFilters


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
        "refresh_seconds": htmx.refresh_seconds(),
        "query": filters.query_string(),
    }
    response = htmx.render_partial(
        request, "alerts/status.html", "alerts/partials/status_refresh.html", context
    )
    if fragment and request.htmx.trigger == "status-filters":  # type: ignore[attr-defined]
        # The form sends every field, empty or not; the address bar gets the canonical URL.
        push_url(response, f"{reverse('home')}?{context['query']}".rstrip("?"))
    return htmx.vary(response, "HX-Trigger")
