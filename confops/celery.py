"""The Celery app: configuration from Django settings (``CELERY_*``), tasks from every app."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confops.settings")

app = Celery("confops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat records its heartbeat through a signal, so the handlers are connected wherever the app loads.
import confops.heartbeat  # noqa: E402,F401
