"""/api/v1/incidents: list with filters, read with the ids of its alerts, acknowledge and
unacknowledge through the same door as the portal (refused transitions are a 409)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.choices import AlertState, IncidentState, Severity
from alerts.models import Alert, AlertRule, Incident
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories
from tests.alerts.incidents import incident_of
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def wikicfp() -> Source:
    return factories.source("wikicfp_conferences", factories.deployment())


@pytest.fixture
def members(wikicfp: Source) -> list[Alert]:
    at = timezone.now() - timedelta(minutes=5)
    return [
        factories.alert(AlertRule.objects.get(name="Run failed"), wikicfp, at),
        factories.alert(AlertRule.objects.get(name="Consecutive failures"), wikicfp, at),
    ]


@pytest.fixture
def outage(members: list[Alert]) -> Incident:
    return incident_of("wikicfp_conferences: run failed", *members, severity=Severity.CRITICAL)


def test_the_list_filters_by_state_severity_source_and_since(
    reader_api: Api, outage: Incident, wikicfp: Source
) -> None:
    elra = factories.source("elra_conferences")
    gone = factories.alert(
        AlertRule.objects.get(name="Run failed"),
        elra,
        timezone.now() - timedelta(days=3),
        state=AlertState.RESOLVED,
    )
    old = incident_of("elra: run failed", gone, state=IncidentState.RESOLVED)

    def ids(**query: object) -> list[int]:
        response = reader_api.get("/incidents", **query)
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["results"]]

    assert ids() == [outage.pk, old.pk]
    assert ids(state="open") == ids(severity="critical") == [outage.pk]
    assert ids(state="resolved") == ids(source=elra.slug) == ids(source=elra.key) == [old.pk]
    assert ids(since=(timezone.now() - timedelta(days=1)).isoformat()) == [outage.pk]
    assert ids(state="acknowledged") == []
    unknown = reader_api.get("/incidents", source="nope")
    assert unknown.status_code == 400 and unknown.json()["fields"] == {"source": "no source 'nope'"}
    assert reader_api.get("/incidents", state="sleeping").status_code == 400
    listed = reader_api.get("/incidents").json()["results"][0]
    assert listed["alert_count"] == 2 and "alert_ids" not in listed
    by_source = reader_api.get("/incidents", source=wikicfp.slug).json()["results"]
    assert [(i["id"], i["alert_count"]) for i in by_source] == [(outage.pk, 2)]


def test_reading_an_incident_gives_its_alert_ids_and_links(
    reader_api: Api, outage: Incident, members: list[Alert], wikicfp: Source
) -> None:
    body = reader_api.get(f"/incidents/{outage.pk}").json()

    assert body["alert_ids"] == sorted(a.pk for a in members)
    assert (body["state"], body["severity"], body["source"]) == ("open", "critical", wikicfp.slug)
    assert body["flapping"] is False and body["recovering"] is False
    assert body["links"]["self"].endswith(f"/api/v1/incidents/{outage.pk}")
    assert body["links"]["page"].endswith(f"/incidents/{outage.pk}/")


def test_an_unknown_incident_is_a_404(reader_api: Api, operator_api: Api) -> None:
    missing = reader_api.get("/incidents/987654")
    assert missing.status_code == 404 and "error" in missing.json()
    assert operator_api.post("/incidents/987654/acknowledge").status_code == 404


def test_acknowledging_acknowledges_every_alert_and_audits_the_token(
    operator_api: Api, outage: Incident, members: list[Alert]
) -> None:
    response = operator_api.post(f"/incidents/{outage.pk}/acknowledge", {"note": "on it"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == "otto-operator"
    assert set(Alert.objects.filter(pk__in=body["alert_ids"]).values_list("state", flat=True)) == {
        AlertState.ACKNOWLEDGED
    }
    entry = AuditEntry.objects.get(
        action="acknowledged", object_id=str(outage.pk), object_type="alerts.Incident"
    )
    assert entry.actor is not None and entry.actor.username == "otto-operator"
    assert entry.actor_label.startswith("API token oncall-bot (")
    assert AuditEntry.objects.filter(action="acknowledged").count() == 1 + len(members)


def test_unacknowledging_puts_it_back_to_open(operator_api: Api, outage: Incident) -> None:
    operator_api.post(f"/incidents/{outage.pk}/acknowledge")
    response = operator_api.post(f"/incidents/{outage.pk}/unacknowledge")

    assert response.status_code == 200 and response.json()["state"] == "open"
    assert set(outage.alerts.values_list("state", flat=True)) == {AlertState.FIRING}


def test_acknowledging_twice_is_a_409_with_the_reason(operator_api: Api, outage: Incident) -> None:
    operator_api.post(f"/incidents/{outage.pk}/acknowledge")
    again = operator_api.post(f"/incidents/{outage.pk}/acknowledge")
    assert again.status_code == 409
    assert (
        again.json()["error"]
        == "only an open incident can be acknowledged (this one is acknowledged)"
    )
    assert operator_api.post(f"/incidents/{outage.pk}/unacknowledge").status_code == 200
    assert operator_api.post(f"/incidents/{outage.pk}/unacknowledge").status_code == 409


def test_a_read_only_token_may_not_acknowledge(reader_api: Api, outage: Incident) -> None:
    response = reader_api.post(f"/incidents/{outage.pk}/acknowledge")

    assert response.status_code == 403
    assert response.json() == {"error": "token lacks the 'operate' scope"}
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN
    assert not AuditEntry.objects.filter(action="acknowledged").exists()


def test_without_a_token_reading_is_a_401(anonymous_api: Api, outage: Incident) -> None:
    assert anonymous_api.get("/incidents").status_code == 401
