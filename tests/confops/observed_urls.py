"""Test-only views and task for the error tracking and tracing tests (see observed_site.py)."""

from __future__ import annotations

import requests
from celery import shared_task
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

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


@shared_task(name="tests.observability.crash")
def crash_task(marker: str) -> None:
    raise DeliberateTaskError(f"task failed on purpose: {marker}")


urlpatterns = [
    path("test/crash/", crash),
    path("test/calls-out/", calls_out),
    *confops_urls,
]
