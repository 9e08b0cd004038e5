"""Values the schema's types allow but no person means, or that PostgreSQL cannot store, get a
400 with a message instead of a 500 (the property-based test found each of these on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Silence
from confops.accounts.models import AuditEntry
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("2026-11-01T00:00:00-19:25", "the UTC offset must be within ±14:00"),
        ("0134-01-30T05:28:45Z", "must be between 1970 and 9998"),
    ],
)
def test_a_time_no_one_means_is_a_400_naming_the_field(
    reader_api: Api, since: str, message: str
) -> None:
    response = reader_api.get("/alerts", since=since)

    assert response.status_code == 400
    assert response.json()["fields"] == {"since": message}


def test_a_time_without_an_offset_is_read_as_utc(operator_api: Any) -> None:
    source = factories.source("elra_conferences")

    response = operator_api.post(
        "/silences",
        {
            "source": source.slug,
            "starts_at": "2030-01-01T10:00:00",
            "duration_minutes": 60,
            "comment": "planned upgrade",
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["starts_at"].startswith("2030-01-01T10:00:00")
    assert Silence.objects.get().starts_at.utcoffset().total_seconds() == 0


def test_a_nul_character_in_a_body_is_a_400_and_stores_nothing(operator_api: Api) -> None:
    source = factories.source("elra_conferences")
    audited = AuditEntry.objects.count()

    response = operator_api.post(
        "/silences", {"source": source.slug, "duration_minutes": 60, "comment": "a\x00b"}
    )

    assert response.status_code == 400
    assert response.json() == {"error": "NUL characters are not accepted"}
    assert (Silence.objects.count(), AuditEntry.objects.count()) == (0, audited)


def test_a_nul_character_in_the_query_is_a_400(reader_api: Api) -> None:
    response = reader_api.get("/sources", group="a\x00b")

    assert response.status_code == 400
    assert response.json()["error"] == "NUL characters are not accepted"


def test_an_id_past_64_bits_is_a_400_not_a_500(admin_api: Api) -> None:
    source = factories.source("elra_conferences")

    response = admin_api.delete(f"/sources/{source.slug}/overrides/{2**70}")

    assert response.status_code in (400, 404)
    assert "error" in response.json()
