"""WSGI entry point (gunicorn confops.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from confops.common.observability import init_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confops.settings")
# Before the application is built: the Django instrumentation adds its middleware to the
# settings. Does nothing (and imports nothing) without OTEL_EXPORTER_OTLP_ENDPOINT.
init_tracing(web=True)
application = get_wsgi_application()
