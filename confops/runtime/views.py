"""Health endpoints (the landing page is the status page, ``alerts.views.status.status``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from confops.runtime import health


@require_GET
@never_cache
@login_not_required
def liveness(request: HttpRequest) -> JsonResponse:
    """Answers as long as the process serves requests; touches nothing else on purpose."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
@login_not_required
def readiness(request: HttpRequest) -> JsonResponse:
    """Ready when the database and the broker answer; 503 naming what failed otherwise.

    A stalled beat, worker or poller is listed under ``warnings`` but never makes this 503:
    this web process can still serve (and its pages show the trouble); see ``health``.
    Anyone may ask, so it names components only: errors and deployments are in ``detailed``.
    """
    checks = health.readiness()
    failing = [c.name for c in checks if not c.ok]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": {c.name: health.public_readiness(c) for c in checks},
        "warnings": [] if failing else health.watcher_warnings(timezone.now()),
    }
    return JsonResponse(body, status=503 if failing else 200)


@require_GET
@never_cache
@permission_required("monitoring.view_deployment", raise_exception=True)
def detailed(request: HttpRequest) -> JsonResponse:
    """Everything, errors and deployment names included: behind login (LoginRequiredMiddleware)
    and the Viewer role's right to see deployments, like every other page that shows them."""
    body = health.detailed()
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
