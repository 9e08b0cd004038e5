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

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

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
        # Off by default: no user ids, usernames, emails, cookies or request bodies leave us.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
    )


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
    RequestsInstrumentor().instrument(tracer_provider=provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    _state["provider"] = provider
    logger.info("tracing on: spans exported to %s", settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    return provider


def flush_traces() -> None:
    """Export pending spans now (a worker about to exit, a test reading the receiver)."""
    provider = _state.get("provider")
    if provider is not None:
        provider.force_flush()
