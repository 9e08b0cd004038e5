"""Error tracking (Sentry) and tracing (OpenTelemetry), each on only when configured.

Both are optional and cost nothing when off: the callers check the setting first and only then
import this module's heavy parts, so a process without ``SENTRY_DSN`` or
``OTEL_EXPORTER_OTLP_ENDPOINT`` never imports sentry_sdk or any instrumentation.

Where they start:
- Sentry: at the end of ``confops/settings.py``, so every process that loads the settings (web,
  worker, beat, manage.py) reports its unhandled errors;
- tracing: ``confops/wsgi.py`` (before the middleware is built) for the web, and the Celery
  signals in ``confops/celery.py`` for workers and beat (``worker_process_init`` in each prefork
  child, because the span exporter's thread does not survive a fork).
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import TYPE_CHECKING, Any

from confops.common.logging import OutgoingUrlFilter
from confops.common.secrets import redact_text, redact_url

if TYPE_CHECKING:
    import requests
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span
    from sentry_sdk._types import Event

logger = logging.getLogger(__name__)

_state: dict[str, Any] = {}


def package_release() -> str:
    """``confops@<version>`` of the installed package: Sentry groups errors by release."""
    try:
        return f"confops@{metadata.version('confops')}"
    except metadata.PackageNotFoundError:
        return "confops@unknown"


def init_sentry(dsn: str, release: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    """Start the Sentry SDK with the Django and Celery integrations and no personal data."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        release=release or package_release(),
        environment=environment,
        # send_default_pii=False only drops cookies, users and IPs: bodies (a channel form holds
        # its webhook URL) and frame locals (a transport holds its secret) are cut off here.
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
    )


# Request headers that authenticate someone: never sent to Sentry.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-csrftoken", "x-api-key"}
)


def scrub_event(event: Event, hint: dict[str, Any]) -> Event:
    """Drop what the SDK would still send of a request: body, cookies, query, auth headers;
    the URLs of outgoing calls recorded as spans (``http.client``); and the URLs an exception's
    message quotes (``requests`` names the path it failed on: a Slack webhook's secret)."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS
            }
    exception = event.get("exception")
    for value in exception.get("values", []) if isinstance(exception, dict) else []:
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            value["value"] = redact_text(value["value"])
    spans = event.get("spans")
    for span in spans if isinstance(spans, list) else []:
        data = span.get("data")
        if str(span.get("op", "")).startswith("http.client") and isinstance(data, dict):
            method = str(span.get("description", "")).split(" ", 1)[0]
            span["description"] = f"{method} {redact_url(str(data.get('url', '')))}"
            scrub_http_data(data)
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """An outgoing call's breadcrumb (``httplib``) keeps the host, not the secret path; so does
    a log record's (urllib3's warnings quote the URL), redacted as the log handler does."""
    if crumb.get("type") == "http" or crumb.get("category") == "httplib":
        scrub_http_data(crumb.get("data") or {})
    record = hint.get("log_record") if isinstance(hint, dict) else None
    if isinstance(record, logging.LogRecord):
        OutgoingUrlFilter().filter(record)
        crumb["message"] = record.getMessage()
    return crumb


def scrub_http_data(data: dict[str, Any]) -> None:
    if "url" in data:
        data["url"] = redact_url(str(data["url"]))
    for key in ("http.query", "http.fragment"):
        data.pop(key, None)


def redact_span_url(span: Span, request: requests.PreparedRequest) -> None:
    """RequestsInstrumentor's hook: the client span keeps scheme and host of the URL only."""
    if not span.is_recording():
        return
    present = getattr(span, "attributes", None) or {}
    for key in ("url.full", "http.url"):
        if key in present:
            span.set_attribute(key, redact_url(str(request.url or "")))


def tracing_enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", ""))


def tracer_provider(endpoint: str, service_name: str) -> TracerProvider:
    """A provider exporting batches of spans over OTLP/HTTP to ``<endpoint>/v1/traces``."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    # The same path the SDK derives from OTEL_EXPORTER_OTLP_ENDPOINT on its own.
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def init_tracing(web: bool) -> TracerProvider | None:
    """Instrument this process once: Django (``web``), requests and Celery; None when off."""
    if not tracing_enabled():
        return None
    if "provider" in _state:
        existing: TracerProvider = _state["provider"]
        return existing
    from django.conf import settings
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    provider = tracer_provider(settings.OTEL_EXPORTER_OTLP_ENDPOINT, settings.OTEL_SERVICE_NAME)
    trace.set_tracer_provider(provider)
    if web:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument(tracer_provider=provider)
    RequestsInstrumentor().instrument(tracer_provider=provider, request_hook=redact_span_url)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    _state["provider"] = provider
    logger.info("tracing on: spans exported to %s", settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    return provider


def flush_traces() -> None:
    """Export pending spans now (a worker about to exit, a test reading the receiver)."""
    provider = _state.get("provider")
    if provider is not None:
        provider.force_flush()
