"""A source's page: its health, trend, runs and checks beside its alerts, rules and runbook.
It lives in alerts because it combines what is observed with what is judged; monitoring knows
nothing of alerts (docs/architecture.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts.pages import source as source_page
from alerts.views.common import reader_only
from confops.common import htmx
from monitoring.models import Source


@require_GET
@reader_only
def source_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One source: its health, trend, runs, checks, alerts, rules and runbook."""
    source = get_object_or_404(Source.objects.select_related("deployment"), slug=slug)
    now = timezone.now()
    metric = (request.GET.get("metric") or source_page.chosen_key(source) or "count").strip()[:100]
    runs = source_page.runs_page(source, request.GET.get("page"), metric)
    if htmx.partial(request, "source-runs"):  # a page of runs: the rest is not built
        context = {"source": source, "runs": runs, "metric": metric}
    else:
        context = source_page.build(source, metric, now) | {"runs": runs}
    return htmx.render_partial(
        request,
        "alerts/source.html",
        "alerts/partials/source_runs.html",
        context,
        target="source-runs",
    )
