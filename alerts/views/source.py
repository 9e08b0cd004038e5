"""A source's page: its health, trend, runs and checks beside its alerts, rules and runbook.
It lives in alerts because it combines what is observed with what is judged; monitoring knows
nothing of alerts (docs/architecture.md)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alerts.pages import source as source_page
from alerts.views.common import needs, reader_only, see_other
from confops.common import htmx
from monitoring import operations
from monitoring.models import Source

# Choosing a source's volume key is the Operator's, like acknowledging what it judges. (A
# permission of its own on Source would say it better; the role is what matters here.)
CHOOSE_VOLUME_KEY = "alerts.acknowledge_alert"


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


@require_POST
@needs(CHOOSE_VOLUME_KEY)
def choose_volume_metric(request: HttpRequest, slug: str) -> HttpResponse:
    """Set the key the source's volume is judged and shown by (empty: automatic), audited; a
    bad key is said under the choice and changes nothing."""
    error, status = "", 200
    with transaction.atomic():
        source = get_object_or_404(Source.objects.select_for_update(of=("self",)), slug=slug)
        key = request.POST.get("volume_metric", "")[:200]
        try:
            operations.choose_volume_metric(source, key, request.user, timezone.now())
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    if not htmx.partial(request) and not error:
        return see_other(reverse("alerts:source", args=[slug]))
    context = {
        "source": source,
        "volume": source_page.volume_choice(source),
        "saved": not error,
        "error": error,
    }
    response = render(request, "alerts/partials/source_volume_key.html", context, status=status)
    return htmx.vary(response)
