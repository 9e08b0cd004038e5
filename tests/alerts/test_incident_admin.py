"""The admin shows incidents read-only: the engine opens and closes them, operators acknowledge
them in the portal or the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.models import ChatIdentity, Incident, IncidentMirror
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage() -> Incident:
    elra: Source = f.source("elra_conferences", f.deployment())
    return incident_of(
        "elra_conferences: run failed",
        incident("Run failed", elra),
        incident("Consecutive failures", elra),
    )


def test_the_list_shows_title_state_severity_and_opening(
    admin_persona_client: Client, outage: Incident
) -> None:
    response = admin_persona_client.get("/admin/alerts/incident/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "elra_conferences: run failed" in html and "Opened at" in html
    assert "/admin/alerts/incident/add/" not in html


def test_an_incident_shows_its_alerts_as_links_and_cannot_be_changed(
    admin_persona_client: Client, outage: Incident
) -> None:
    page = admin_persona_client.get(f"/admin/alerts/incident/{outage.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for alert in outage.alerts.all():
        assert f'href="/admin/alerts/alert/{alert.pk}/change/"' in html
    assert 'name="_save"' not in html
    changed = admin_persona_client.post(
        f"/admin/alerts/incident/{outage.pk}/change/", {"title": "renamed"}
    )
    assert changed.status_code == 403
    outage.refresh_from_db()
    assert outage.title == "elra_conferences: run failed"


def test_incidents_cannot_be_added_or_deleted_in_the_admin(
    admin_persona_client: Client, outage: Incident
) -> None:
    assert admin_persona_client.get("/admin/alerts/incident/add/").status_code == 403
    deleted = admin_persona_client.post(
        f"/admin/alerts/incident/{outage.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert Incident.objects.filter(pk=outage.pk).exists()


def test_an_incident_shows_where_two_way_channels_show_it(
    admin_persona_client: Client, outage: Incident
) -> None:
    pager = f.channel("ops-pager", kind="pagerduty", secret="R" * 32)
    IncidentMirror.objects.create(
        channel=pager,
        incident=outage,
        reference=f"confops-incident-{outage.pk}",
        remote_state="acknowledged",
        created_at=outage.opened_at,
        updated_at=outage.opened_at,
    )
    html = admin_persona_client.get(f"/admin/alerts/incident/{outage.pk}/change/").content.decode()
    assert f"confops-incident-{outage.pk}" in html and "acknowledged" in html
    assert "R" * 32 not in html


def test_an_admin_links_a_slack_user_to_a_confops_user_audited(
    admin_persona_client: Client, operator_user: Any
) -> None:
    response = admin_persona_client.post(
        "/admin/alerts/chatidentity/add/",
        {
            "provider": "slack",
            "workspace": "T0CONFOPS",
            "external_id": "U0OTTO",
            "display_name": "Otto O.",
            "user": operator_user.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    link = ChatIdentity.objects.get(external_id="U0OTTO")
    assert (link.provider, link.user, link.linked_at is not None) == ("slack", operator_user, True)
    entry = AuditEntry.objects.get(object_type="alerts.ChatIdentity", action="created")
    assert entry.object_id == str(link.pk)
    refused = admin_persona_client.post(
        "/admin/alerts/chatidentity/add/",
        {"provider": "teams", "external_id": "U1", "user": operator_user.pk},
    )
    assert refused.status_code == 200 and ChatIdentity.objects.count() == 1
