"""Test-only views and task for the error tracking and tracing tests (see observed_site.py)."""

from __future__ import annotations

import requests
from celery import shared_task
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from confops.urls import urlpatterns as confops_urls


class DeliberateViewError(RuntimeError):
    pass


class DeliberateTaskError(RuntimeError):
    pass


def crash(request: HttpRequest) -> HttpResponse:
    raise DeliberateViewError(f"view failed on purpose for {request.path}")


@login_not_required
def calls_out(request: HttpRequest) -> HttpResponse:
    """Stands in for a view calling Dagster: one outgoing request through ``requests``."""
    answer = requests.get(request.GET["url"], timeout=5)
    return HttpResponse(f"downstream said {answer.status_code}")


@csrf_exempt
@login_not_required
def crash_after_hook(request: HttpRequest) -> HttpResponse:
    """A form post holding a webhook URL: calls it (a breadcrumb), keeps it in locals, fails."""
    hook_url = request.POST["hook"]
    requests.post(hook_url, json={"text": "test"}, timeout=5)
    raise DeliberateViewError("view failed after calling its hook")


@shared_task(name="tests.observability.crash")
def crash_task(marker: str) -> None:
    raise DeliberateTaskError(f"task failed on purpose: {marker}")


urlpatterns = [
    path("test/crash/", crash),
    path("test/calls-out/", calls_out),
    path("test/crash-after-hook/", crash_after_hook),
    *confops_urls,
]
