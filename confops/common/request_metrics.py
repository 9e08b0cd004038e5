"""Request latency as a Prometheus histogram, on when ``METRICS_MULTIPROC_DIR`` is set.

prometheus_client's multiprocess mode keeps each gunicorn worker's counts in a file of that
folder and /metrics sums them, so every worker answers a scrape with the same totals. Labels are
bounded: the URL pattern's name (not the path), the method from a fixed list, the status class.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from prometheus_client import Histogram

REQUEST_SECONDS = Histogram(
    "confops_http_request_duration_seconds",
    "Time to answer a request, by URL name, method and status class (all web workers).",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,  # the multiprocess files are the store; /metrics reads them
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_SECONDS.labels(
            view_name(request),
            request.method if request.method in METHODS else "other",
            f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


def view_name(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return "unmatched"  # 404s for arbitrary paths must not become series of their own
    return match.view_name or match.route or "unnamed"
