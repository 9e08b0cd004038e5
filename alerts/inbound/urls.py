"""``/integrations/...``: the endpoints other tools call (no session; each verifies its own
signature, see ``alerts/inbound/__init__.py``)."""

from django.urls import URLPattern

app_name = "inbound"

urlpatterns: list[URLPattern] = []
