"""One-use acknowledge links (Teams cards): opening one never acts, it asks a logged-in Operator
to confirm; the confirmation acknowledges through the one door (audited) once; a viewer, a second
use, an expired or a tampered link change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from alerts.choices import IncidentState
from alerts.models import Incident
from alerts.notify import links, messages
from confops.accounts.models import AuditEntry
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of
from tests.alerts.test_messages import alert_json, payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage() -> Incident:
    elra = f.source("elra_conferences", f.deployment())
    failed = incident("Run failed", elra, summary="elra failed: HTTP 503")
    return incident_of("elra_conferences: run failed", failed, severity="critical")


def link(outage: Incident, at: datetime | None = None) -> str:
    """The link a message written at ``at`` (now) carries."""
    return f"/integrations/ack/{links.ack_token(outage.pk, at or timezone.now())}"


def state(outage: Incident) -> str:
    outage.refresh_from_db()
    return str(outage.state)


def acknowledged_entries(outage: Incident) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(action="acknowledged", object_id=str(outage.pk))
    return list(entries.filter(object_type="alerts.Incident"))


def test_the_link_in_a_message_is_absolute_and_signed_for_the_incident(outage: Incident) -> None:
    url = links.ack_link_url(outage.pk, timezone.now())
    assert url.startswith("http://localhost:8000/integrations/ack/")
    assert links.incident_of_ack_token(url.rsplit("/", 1)[1]) == outage.pk


def test_opening_it_without_a_session_asks_for_a_login_and_comes_back(
    client: Client, outage: Incident
) -> None:
    response = client.get(link(outage))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/integrations/ack/")
    assert client.post(link(outage)).status_code == 302
    assert state(outage) == IncidentState.OPEN


def test_opening_it_shows_a_confirmation_and_changes_nothing(
    operator_client: Client, outage: Incident
) -> None:
    page = operator_client.get(link(outage))
    html = page.content.decode()
    assert page.status_code == 200
    assert "elra_conferences: run failed" in html and "elra failed: HTTP 503" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert operator_client.get(link(outage)).status_code == 200  # a previewer's fetch burns nothing
    assert state(outage) == IncidentState.OPEN and not acknowledged_entries(outage)


def test_an_operator_confirming_acknowledges_once_audited_as_the_link(
    operator_client: Client, operator_user: object, outage: Incident
) -> None:
    response = operator_client.post(link(outage))
    assert response.status_code == 303
    assert response["Location"] == f"/incidents/{outage.pk}/"
    assert state(outage) == IncidentState.ACKNOWLEDGED
    assert outage.acknowledged_by == operator_user
    [entry] = acknowledged_entries(outage)
    assert entry.actor == operator_user and entry.actor_label == "acknowledge link"


def test_a_second_use_says_so_and_changes_nothing(
    operator_client: Client, outage: Incident
) -> None:
    used = link(outage)
    operator_client.post(used)
    Incident.objects.filter(pk=outage.pk).update(state=IncidentState.OPEN)
    for again in (operator_client.get(used), operator_client.post(used)):
        assert again.status_code == 410
        assert "already used" in again.content.decode()
    assert state(outage) == IncidentState.OPEN
    assert len(acknowledged_entries(outage)) == 1


def test_a_viewer_is_refused_with_a_clear_page(
    viewer_user_client: Client, outage: Incident
) -> None:
    for attempt in (viewer_user_client.get(link(outage)), viewer_user_client.post(link(outage))):
        assert attempt.status_code == 403
        assert "not acknowledge" in attempt.content.decode()
    assert state(outage) == IncidentState.OPEN


def test_the_link_of_a_viewer_stays_usable_by_an_operator(
    viewer_user_client: Client, operator_client: Client, outage: Incident
) -> None:
    shared = link(outage)
    viewer_user_client.post(shared)
    assert operator_client.post(shared).status_code == 303
    assert state(outage) == IncidentState.ACKNOWLEDGED


def test_a_link_of_a_message_written_over_a_day_ago_is_refused(
    operator_client: Client, outage: Incident
) -> None:
    old = link(outage, at=timezone.now() - timedelta(hours=25))
    for attempt in (operator_client.get(old), operator_client.post(old)):
        assert attempt.status_code == 400 and "expired" in attempt.content.decode()
    assert state(outage) == IncidentState.OPEN


def test_a_link_expires_as_the_clock_passes_its_age(
    operator_client: Client, outage: Incident
) -> None:
    fresh = link(outage)
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert operator_client.get(fresh).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert operator_client.post(fresh).status_code == 400
    assert state(outage) == IncidentState.OPEN


def test_the_age_is_a_setting(operator_client: Client, outage: Incident, settings: Any) -> None:
    settings.ACK_LINK_MAX_AGE_HOURS = 48
    assert (
        operator_client.post(link(outage, at=timezone.now() - timedelta(hours=25))).status_code
        == 303
    )


@pytest.mark.parametrize("forge", ["tampered", "other-salt"])
def test_a_tampered_link_is_refused(operator_client: Client, outage: Incident, forge: str) -> None:
    token = links.ack_token(outage.pk, timezone.now())
    if forge == "tampered":
        token = f"{outage.pk + 1}:{token.partition(':')[2]}"
    else:
        token = signing.TimestampSigner(salt="another").sign(str(outage.pk))
    attempt = operator_client.post(f"/integrations/ack/{token}")
    assert attempt.status_code == 400 and "not valid" in attempt.content.decode()
    assert state(outage) == IncidentState.OPEN


def test_an_already_acknowledged_incident_is_said_and_not_changed(
    operator_client: Client, admin_persona: object, outage: Incident
) -> None:
    outage.acknowledge(admin_persona, "", timezone.now())
    attempt = operator_client.post(link(outage))
    assert attempt.status_code == 409 and "Nothing was acknowledged" in attempt.content.decode()
    assert outage.acknowledged_by == admin_persona


def test_an_email_page_about_an_open_incident_carries_the_link_and_a_resend_the_same() -> None:
    at = timezone.now().replace(microsecond=0).isoformat()
    incident_json = {"id": 5, "state": "open", "url": "http://localhost:8000/incidents/5/"}
    for count in (1, 3):
        raws = [alert_json(i, f"src_{i}") for i in range(count)]
        page = payload("firing", raws, incident=incident_json, at=at)
        message = messages.render("firing", page)
        assert message.ack_url.startswith("http://localhost:8000/integrations/ack/")
        assert f"Acknowledge the incident (one-use link): {message.ack_url}" in message.text
        assert f'href="{message.ack_url}"' in message.html
        assert messages.render("firing", page).ack_url == message.ack_url


@pytest.mark.parametrize(
    ("event", "state"), [("resolved", "resolved"), ("reminder", "acknowledged"), ("firing", None)]
)
def test_no_link_once_acknowledged_resolved_or_without_an_incident(
    event: str, state: str | None
) -> None:
    incident_json = {"id": 5, "state": state} if state else None
    message = messages.render(event, payload(event, [alert_json(1, "src")], incident=incident_json))
    assert message.ack_url == "" and "one-use link" not in message.text + message.html
