"""Pages about what is observed: the status grid and timeline, sources (the operator UI)."""

from django.urls import path  # noqa: F401 - patterns are added by the UI work

app_name = "monitoring"
urlpatterns: list = []
