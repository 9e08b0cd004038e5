"""/api/v1/silences: list by status, create (duration or end; open alerts held back at once,
as in the portal), expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.choices import AlertEventKind
from alerts.models import Alert, AlertRule, Silence
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def elra() -> Source:
    return factories.source("elra_conferences")


@pytest.fixture
def firing(elra: Source) -> Alert:
    rule = AlertRule.objects.get(name="Run failed")
    return factories.alert(rule, elra, timezone.now() - timedelta(minutes=3))


def silence(**fields: Any) -> Silence:
    now = timezone.now()
    fields.setdefault("starts_at", now - timedelta(hours=1))
    fields.setdefault("ends_at", now + timedelta(hours=1))
    return Silence.objects.create(group="scrap*", comment="maintenance", **fields)


def test_a_silence_for_a_duration_holds_back_the_alerts_it_covers_at_once(
    operator_api: Api, elra: Source, firing: Alert
) -> None:
    response = operator_api.post(
        "/silences",
        {"source": elra.slug, "duration_minutes": 90, "comment": "ELRA maintenance tonight"},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "active" and body["holding"] == 1
    assert body["source"] == elra.slug and body["created_by"] == "otto-operator"
    created = Silence.objects.get(pk=body["id"])
    assert created.ends_at - created.starts_at == timedelta(minutes=90)
    firing.refresh_from_db()
    assert firing.silenced_by == created
    assert firing.events.filter(kind=AlertEventKind.SILENCED).exists()
    entry = AuditEntry.objects.get(action="created", object_type="alerts.Silence")
    assert entry.actor is not None and entry.actor.username == "otto-operator"
    assert entry.actor_label.startswith("API token oncall-bot")


def test_a_silence_with_an_end_in_the_future_starts_later_as_upcoming(
    operator_api: Api, firing: Alert
) -> None:
    now = timezone.now()
    body = {
        "rule": firing.rule_id,
        "severity": "warning",
        "starts_at": (now + timedelta(hours=2)).isoformat(),
        "ends_at": (now + timedelta(hours=3)).isoformat(),
        "comment": "deploy window",
    }

    response = operator_api.post("/silences", body)

    assert response.status_code == 201 and response.json()["status"] == "upcoming"
    firing.refresh_from_db()
    assert firing.silenced_by is None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"group": "x", "duration_minutes": 5}, "comment", "is required"),
        ({"group": "x", "comment": " ", "duration_minutes": 5}, "comment", "say why"),
        ({"group": "x", "comment": "c"}, "ends_at", "give an end"),
        (
            {"group": "x", "comment": "c", "duration_minutes": 5, "ends_at": "2030-01-01T00:00Z"},
            "ends_at",
            "not both",
        ),
        (
            {"group": "x", "comment": "c", "ends_at": "2020-01-01T00:00:00Z"},
            "ends_at",
            "must be after the start",
        ),
        ({"source": "nope", "comment": "c", "duration_minutes": 5}, "source", "no source"),
        ({"group": "x", "comment": "c", "duration_minutes": 0}, "duration_minutes", "greater"),
        (
            {"group": "x", "comment": "c", "recurrence_cron": "0 1 * * 0"},
            "duration_minutes",
            "needs a duration",
        ),
        (
            {"group": "x", "comment": "c", "recurrence_cron": "61 * * * *", "duration_minutes": 5},
            "recurrence_cron",
            "",
        ),
        (
            {"group": "x", "comment": "c", "duration_minutes": 5, "recurrence_timezone": "Mars"},
            "recurrence_timezone",
            "",
        ),
    ],
)
def test_an_invalid_silence_is_a_400_with_the_field_s_message(
    operator_api: Api, body: dict[str, Any], field: str, message: str
) -> None:
    response = operator_api.post("/silences", body)

    assert response.status_code == 400, response.json()
    assert message in response.json()["fields"][field]
    assert not Silence.objects.exists()


def test_a_silence_without_a_matcher_is_refused_with_the_model_s_reason(
    operator_api: Api,
) -> None:
    response = operator_api.post("/silences", {"comment": "all", "duration_minutes": 5})

    assert response.status_code == 400
    assert response.json()["error"] == "a silence needs at least one matcher"


def test_the_list_filters_by_status(reader_api: Api) -> None:
    now = timezone.now()
    active = silence()
    upcoming = silence(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    expired = silence(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=2))

    def ids(**query: object) -> list[int]:
        return [s["id"] for s in reader_api.get("/silences", **query).json()["results"]]

    assert ids(status="active") == [active.pk]
    assert ids(status="upcoming") == [upcoming.pk]
    assert ids(status="expired") == [expired.pk]
    assert set(ids()) == {active.pk, upcoming.pk, expired.pk}
    assert reader_api.get(f"/silences/{active.pk}").json()["matchers"] == ["group scrap*"]


def test_expiring_ends_it_now_and_a_second_time_is_a_409(operator_api: Api) -> None:
    active = silence()

    first = operator_api.post(f"/silences/{active.pk}/expire")
    second = operator_api.post(f"/silences/{active.pk}/expire")

    assert first.status_code == 200 and first.json()["status"] == "expired"
    assert second.status_code == 409
    assert second.json()["error"] == "this silence has already expired"
    entry = AuditEntry.objects.get(action="expired")
    assert entry.actor_label.startswith("API token oncall-bot")
    assert operator_api.post("/silences/999999/expire").status_code == 404
