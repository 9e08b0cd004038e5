"""/api/v1/alerts: list with filters, read with the timeline, acknowledge, unacknowledge and
resolve through the same operations as the portal (refused transitions are a 409)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.choices import AlertEventKind, AlertState, ResolvedHow, Severity
from alerts.models import Alert, AlertRule
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def wikicfp() -> Source:
    return factories.source("wikicfp_conferences", factories.deployment())


@pytest.fixture
def run_failed() -> AlertRule:
    return AlertRule.objects.get(name="Run failed")


@pytest.fixture
def firing(run_failed: AlertRule, wikicfp: Source) -> Alert:
    return factories.alert(run_failed, wikicfp, timezone.now() - timedelta(minutes=5))


def test_the_list_filters_by_state_severity_rule_source_and_since(
    reader_api: Api, firing: Alert, wikicfp: Source
) -> None:
    elra = factories.source("elra_conferences")
    stale = AlertRule.objects.get(name="Stale (no success when expected)")
    old = factories.alert(
        stale,
        elra,
        timezone.now() - timedelta(days=3),
        state=AlertState.RESOLVED,
        severity=Severity.CRITICAL,
    )

    def ids(**query: object) -> list[int]:
        response = reader_api.get("/alerts", **query)
        assert response.status_code == 200, response.json()
        return [a["id"] for a in response.json()["results"]]

    assert ids() == [firing.pk, old.pk]
    assert ids(state="open") == ids(state="firing") == [firing.pk]
    assert ids(state="resolved") == ids(severity="critical") == [old.pk]
    assert ids(rule=stale.pk) == ids(source=elra.slug) == ids(source=elra.key) == [old.pk]
    assert ids(since=(timezone.now() - timedelta(days=1)).isoformat()) == [firing.pk]
    assert ids(deployment="confradar") == [firing.pk]
    unknown = reader_api.get("/alerts", source="nope")
    assert unknown.status_code == 400 and unknown.json()["fields"] == {"source": "no source 'nope'"}
    assert reader_api.get("/alerts", state="sleeping").status_code == 400


def test_reading_an_alert_shows_its_timeline_and_links(
    reader_api: Api, firing: Alert, wikicfp: Source
) -> None:
    firing.record(AlertEventKind.FIRED, firing.opened_at, summary=firing.summary)

    body = reader_api.get(f"/alerts/{firing.pk}").json()

    assert body["source"] == wikicfp.slug and body["rule"] == "Run failed"
    assert body["runbook"] == "scraper-failure"
    assert [e["kind"] for e in body["events"]] == ["fired"]
    assert body["links"]["self"].endswith(f"/api/v1/alerts/{firing.pk}")
    assert body["links"]["page"].endswith(f"/alerts/{firing.pk}/")
    assert reader_api.get("/alerts/987654").status_code == 404


def test_acknowledging_records_who_with_the_note_and_audits_the_token(
    operator_api: Api, firing: Alert
) -> None:
    response = operator_api.post(
        f"/alerts/{firing.pk}/acknowledge", {"note": "upstream 503, retrying"}
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == "otto-operator"
    assert body["ack_note"] == "upstream 503, retrying"
    assert body["events"][-1]["kind"] == "acknowledged"
    assert body["events"][-1]["actor"] == "otto-operator"
    entry = AuditEntry.objects.get(action="acknowledged", object_id=str(firing.pk))
    assert entry.actor is not None and entry.actor.username == "otto-operator"
    assert entry.actor_label.startswith("API token oncall-bot (")


def test_acknowledging_without_a_body_is_allowed(operator_api: Api, firing: Alert) -> None:
    response = operator_api.post(f"/alerts/{firing.pk}/acknowledge")

    assert response.status_code == 200 and response.json()["ack_note"] == ""


def test_unacknowledging_puts_it_back_to_firing(operator_api: Api, firing: Alert) -> None:
    operator_api.post(f"/alerts/{firing.pk}/acknowledge", {"note": ""})

    response = operator_api.post(f"/alerts/{firing.pk}/unacknowledge")

    assert response.status_code == 200 and response.json()["state"] == "firing"
    assert AuditEntry.objects.filter(action="unacknowledged", object_id=str(firing.pk)).exists()


def test_resolving_by_hand_is_audited_and_a_second_time_is_a_409(
    operator_api: Api, firing: Alert
) -> None:
    first = operator_api.post(f"/alerts/{firing.pk}/resolve")
    second = operator_api.post(f"/alerts/{firing.pk}/resolve")

    assert first.status_code == 200
    assert first.json()["state"] == "resolved" and first.json()["resolved_how"] == "manual"
    assert first.json()["resolved_by"] == "otto-operator"
    assert second.status_code == 409
    assert second.json() == {"error": "this alert is already resolved"}
    firing.refresh_from_db()
    assert firing.resolved_how == ResolvedHow.MANUAL
    entry = AuditEntry.objects.get(action="resolved", object_id=str(firing.pk))
    assert entry.actor_label.startswith("API token oncall-bot")


def test_acknowledging_a_resolved_alert_is_a_409_with_the_reason(
    operator_api: Api, firing: Alert
) -> None:
    firing.resolve(timezone.now())

    response = operator_api.post(f"/alerts/{firing.pk}/acknowledge", {"note": "late"})

    assert response.status_code == 409
    assert response.json()["error"] == (
        "only a firing alert can be acknowledged (this one is resolved)"
    )
    assert not AuditEntry.objects.filter(action="acknowledged").exists()


def test_unacknowledging_a_firing_alert_is_a_409(operator_api: Api, firing: Alert) -> None:
    response = operator_api.post(f"/alerts/{firing.pk}/unacknowledge")

    assert response.status_code == 409
    assert "only an acknowledged alert" in response.json()["error"]


def test_a_note_too_long_is_a_400(operator_api: Api, firing: Alert) -> None:
    response = operator_api.post(f"/alerts/{firing.pk}/acknowledge", {"note": "x" * 2001})

    assert response.status_code == 400 and "note" in response.json()["fields"]
