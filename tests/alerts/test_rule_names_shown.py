"""A rule's threshold is shown beside its name, which carries no number (issue 18)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertRule
from monitoring.models import Source
from tests.alerts import factories

pytestmark = pytest.mark.django_db


def test_the_alert_page_shows_the_rule_s_current_threshold_beside_its_name(
    viewer_user_client: Client, elra: Source
) -> None:
    rule = AlertRule.objects.get(name="Volume drop")
    rule.parameters = {**rule.parameters, "percent": 40}
    rule.save()
    alert = factories.alert(rule, elra, timezone.now())

    html = viewer_user_client.get(reverse("alerts:alert-detail", args=[alert.pk])).content.decode()

    assert 'Volume drop <span class="muted">(volume_drop, over 40 %)</span>' in html


def test_the_admin_lists_rules_with_their_threshold(admin_client: Client) -> None:
    html = admin_client.get(reverse("admin:alerts_alertrule_changelist")).content.decode()

    assert "after 2 failures" in html and "over 30 %" in html
