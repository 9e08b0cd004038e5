"""Default rule names carry no number, so wherever a rule's name is shown to someone judging an
alert (the incident page, alert rows, a source's rules in force) its threshold is beside it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import strip_tags

from alerts.models import AlertRule
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of

pytestmark = pytest.mark.django_db


def read(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return " ".join(strip_tags(response.content.decode()).split())


def test_the_threshold_stands_beside_the_rule_name(viewer_user_client: Client) -> None:
    elra = f.source("elra_conferences", f.deployment())
    twice = incident("Consecutive failures", elra, summary="elra failed twice")
    outage = incident_of("elra_conferences: run failed", twice, severity="critical")
    threshold = AlertRule.objects.get(name="Consecutive failures").threshold
    assert threshold  # "after 2 failures"
    beside = f"Consecutive failures {threshold}"
    assert beside in read(viewer_user_client, f"/incidents/{outage.pk}/")
    assert f"Consecutive failures ({threshold})" in read(viewer_user_client, "/alerts/")
    assert beside in read(viewer_user_client, f"/sources/{elra.slug}/")
