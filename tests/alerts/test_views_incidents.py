"""An incident's page and acknowledging it: one click for all its alerts, operators only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertState, IncidentState, NotificationEvent
from alerts.models import Incident
from confops.accounts.models import AuditEntry
from monitoring.models import Deployment, Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of
from tests.alerts.pages import as_read

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def dep() -> Deployment:
    return f.deployment(ui_url="http://dagster.example")


@pytest.fixture
def elra(dep: Deployment) -> Source:
    return f.source("elra_conferences", dep)


@pytest.fixture
def outage(elra: Source) -> Incident:
    """elra's run failed twice: two rules, one cause, one incident."""
    failed = incident("Run failed", elra, summary="elra failed: HTTP 503")
    twice = incident("Consecutive failures", elra, summary="elra failed twice")
    return incident_of("elra_conferences: run failed", failed, twice, severity="critical")


def page(client: Client, incident: Incident) -> str:
    response = client.get(f"/incidents/{incident.pk}/")
    assert response.status_code == 200
    return " ".join(as_read(response.content.decode()).split())


def test_the_page_shows_the_incident_its_alerts_and_its_messages(
    viewer_user_client: Client, outage: Incident
) -> None:
    chan = f.channel()
    members = list(outage.alerts.order_by("pk"))
    sent = f.notification(chan, NotificationEvent.FIRING, members, timezone.now())
    sent.incident = outage
    sent.save(update_fields=["incident"])
    html = page(viewer_user_client, outage)
    assert "elra_conferences: run failed" in html and "Critical" in html and "Open" in html
    for alert in members:
        assert f'href="/alerts/{alert.pk}/"' in html and alert.summary in html
    assert "Run failed" in html and "Consecutive failures" in html
    assert "ops-slack" in html and "Firing" in html


def test_a_viewer_sees_no_acknowledge_button(viewer_user_client: Client, outage: Incident) -> None:
    assert "Acknowledge all" not in page(viewer_user_client, outage)


def test_an_operator_sees_acknowledge_all(operator_client: Client, outage: Incident) -> None:
    assert "Acknowledge all" in page(operator_client, outage)


def test_a_recovering_incident_says_when_it_closes(
    viewer_user_client: Client, outage: Incident
) -> None:
    now = timezone.now()
    outage.quiet_since, outage.closes_at = now, now + timedelta(minutes=30)
    outage.save()
    assert "Recovering, closes at" in page(viewer_user_client, outage)


def test_a_flapping_incident_says_so(viewer_user_client: Client, outage: Incident) -> None:
    outage.flapping_since, outage.flaps = timezone.now(), 3
    outage.save()
    assert "flapping: failed again 3 times while recovering" in page(viewer_user_client, outage)


def test_the_shared_cause_of_a_storm_is_shown(viewer_user_client: Client, elra: Source) -> None:
    storm = incident_of(
        "40 sources failing", incident("Run failed", elra), cause="same error: ProxyError"
    )
    assert "same error: ProxyError" in page(viewer_user_client, storm)


def test_acknowledging_acknowledges_every_member_and_audits(
    operator_client: Client, operator_user: Any, outage: Incident
) -> None:
    response = operator_client.post(
        f"/incidents/{outage.pk}/acknowledge/", {"note": "on it"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="incident-head"' in html and "Acknowledged by otto-operator" in html
    assert "Unacknowledge" in html
    outage.refresh_from_db()
    assert outage.state == IncidentState.ACKNOWLEDGED and outage.acknowledged_by == operator_user
    assert {a.state for a in outage.alerts.all()} == {AlertState.ACKNOWLEDGED}
    audited = AuditEntry.objects.filter(action="acknowledged", actor=operator_user)
    assert audited.count() == 3  # the incident and its two alerts


def test_unacknowledging_puts_the_incident_and_its_alerts_back(
    operator_client: Client, operator_user: Any, outage: Incident
) -> None:
    operator_client.post(f"/incidents/{outage.pk}/acknowledge/", headers=HTMX)
    response = operator_client.post(f"/incidents/{outage.pk}/unacknowledge/", headers=HTMX)
    assert response.status_code == 200 and "Acknowledge all" in response.content.decode()
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN
    assert {a.state for a in outage.alerts.all()} == {AlertState.FIRING}


def test_a_viewer_may_not_acknowledge(viewer_user_client: Client, outage: Incident) -> None:
    response = viewer_user_client.post(f"/incidents/{outage.pk}/acknowledge/", headers=HTMX)
    assert response.status_code == 403
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN
    assert not AuditEntry.objects.filter(action="acknowledged").exists()


def test_acknowledging_twice_answers_409(operator_client: Client, outage: Incident) -> None:
    operator_client.post(f"/incidents/{outage.pk}/acknowledge/", headers=HTMX)
    response = operator_client.post(f"/incidents/{outage.pk}/acknowledge/", headers=HTMX)
    assert response.status_code == 409
    assert "only an open incident can be acknowledged" in response.content.decode()


def test_without_htmx_acknowledging_redirects_back_to_the_incident(
    operator_client: Client, outage: Incident
) -> None:
    response = operator_client.post(f"/incidents/{outage.pk}/acknowledge/")
    assert response.status_code == 303
    assert response["Location"] == f"/incidents/{outage.pk}/"


def test_an_htmx_post_needs_the_csrf_token_from_the_page(
    operator_user: Any, outage: Incident
) -> None:
    """base.html puts the token in hx-headers, so htmx sends it as X-CSRFToken."""
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator_user)
    forged = strict.post(f"/incidents/{outage.pk}/acknowledge/", headers=HTMX)
    assert forged.status_code == 403
    token = strict.get(f"/incidents/{outage.pk}/").context["csrf_token"]
    response = strict.post(
        f"/incidents/{outage.pk}/acknowledge/",
        headers={**HTMX, "X-CSRFToken": str(token)},
    )
    assert response.status_code == 200
    outage.refresh_from_db()
    assert outage.state == IncidentState.ACKNOWLEDGED


def test_an_unknown_incident_is_404(viewer_user_client: Client) -> None:
    assert viewer_user_client.get("/incidents/999999/").status_code == 404


def test_actions_need_a_post(operator_client: Client, outage: Incident) -> None:
    assert operator_client.get(f"/incidents/{outage.pk}/acknowledge/").status_code == 405


# The alerts page and an alert's page


def test_the_alerts_page_lists_open_incidents_above_the_alerts(
    viewer_user_client: Client, outage: Incident, elra: Source
) -> None:
    closed = incident_of(
        "an old outage", incident("Run failed", elra, AlertState.RESOLVED), state="resolved"
    )
    html = viewer_user_client.get("/alerts/").content.decode()
    row = html[html.index(f'id="incident-{outage.pk}"') :]
    row = row[: row.index("</tr>")]
    assert f'href="/incidents/{outage.pk}/"' in row and "Critical" in row
    assert "<td>2</td>" in row and "Open" in row
    assert html.index('id="incidents-heading"') < html.index('id="open-heading"')
    assert f'id="incident-{closed.pk}"' not in html


def test_the_alerts_page_without_open_incidents_has_no_incident_section(
    viewer_user_client: Client, elra: Source
) -> None:
    incident("Run failed", elra)
    assert 'id="incidents-heading"' not in viewer_user_client.get("/alerts/").content.decode()


def test_an_alert_page_links_to_its_incident(viewer_user_client: Client, outage: Incident) -> None:
    alert = outage.alerts.first()
    assert alert is not None
    html = viewer_user_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f'href="/incidents/{outage.pk}/"' in html and outage.title in html
