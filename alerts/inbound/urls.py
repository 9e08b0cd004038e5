"""``/integrations/...``: the endpoints other tools call (no session; each verifies its own
signature, see ``alerts/inbound/__init__.py``)."""

from django.urls import URLPattern, path

from alerts.inbound import ack_links, pagerduty, slack

app_name = "inbound"

urlpatterns: list[URLPattern] = [
    path("ack/<str:token>", ack_links.acknowledge, name="ack-link"),
    path("slack/<int:channel_id>/actions", slack.actions, name="slack-actions"),
    path("pagerduty/<int:channel_id>/webhook", pagerduty.webhook, name="pagerduty-webhook"),
]
