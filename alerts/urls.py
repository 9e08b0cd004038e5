"""Pages about what is judged: alerts, silences, runbooks (the operator UI)."""

from django.urls import path  # noqa: F401 - patterns are added by the UI work

app_name = "alerts"
urlpatterns: list = []
