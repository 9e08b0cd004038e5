"""/api/v1/sources shows each source's volume key (the operator's choice, the key in use and
every numeric key it reported) and an operator token chooses the key, audited (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def prices() -> Source:
    now = timezone.now()
    src = factories.source("retail_acme_prices", factories.deployment(last_success_at=now))
    for hours in (3, 2):
        metrics: dict[str, float] = {"sku_count": 100 + hours, "dagster/row_count": 900 + hours}
        factories.run(src, now - timedelta(hours=hours), metrics=metrics)
    return src


def test_a_source_shows_its_volume_key_and_the_keys_it_reports(
    reader_api: Api, prices: Source
) -> None:
    body = reader_api.get(f"/sources/{prices.slug}").json()

    assert body["volume_metric"] == "" and body["volume_key"] == "dagster/row_count"
    assert set(body["metric_keys"]) == {"sku_count", "dagster/row_count"}
    assert body["metric_keys"]["sku_count"]["last"] == 102
    assert body["metric_keys"]["sku_count"]["reports"] == 2
    listed = reader_api.get("/sources").json()["results"][0]
    assert listed["volume_key"] == "dagster/row_count"


def test_an_operator_token_chooses_the_volume_key_audited(
    operator_api: Api, prices: Source
) -> None:
    response = operator_api.put(
        f"/sources/{prices.slug}/volume-metric", {"volume_metric": "sku_count"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["volume_metric"] == response.json()["volume_key"] == "sku_count"
    prices.refresh_from_db()
    assert prices.volume_metric == "sku_count"
    entry = AuditEntry.objects.get(object_type="monitoring.Source")
    assert entry.changes == {"volume_metric": ["", "sku_count"]}
    back = operator_api.put(f"/sources/{prices.slug}/volume-metric", {"volume_metric": ""})
    assert back.json()["volume_key"] == "dagster/row_count"


def test_a_key_with_spaces_is_accepted(operator_api: Api, prices: Source) -> None:
    response = operator_api.put(
        f"/sources/{prices.slug}/volume-metric", {"volume_metric": "Number of records"}
    )
    assert response.status_code == 200 and response.json()["volume_key"] == "Number of records"


def test_a_bad_key_is_refused_with_its_reason_and_changes_nothing(
    operator_api: Api, prices: Source
) -> None:
    prices.volume_metric = "sku_count"
    prices.save(update_fields=["volume_metric"])

    bad = operator_api.put(f"/sources/{prices.slug}/volume-metric", {"volume_metric": "a<b>"})

    assert bad.status_code == 400
    assert "letters, digits" in bad.json()["fields"]["volume_metric"]
    prices.refresh_from_db()
    assert prices.volume_metric == "sku_count"
    assert not AuditEntry.objects.filter(object_type="monitoring.Source").exists()


def test_a_read_token_cannot_choose_the_key(reader_api: Api, prices: Source) -> None:
    response = reader_api.put(f"/sources/{prices.slug}/volume-metric", {"volume_metric": "x"})
    assert response.status_code == 403


def test_an_unknown_source_is_not_found(operator_api: Api) -> None:
    response = operator_api.put("/sources/nope/volume-metric", {"volume_metric": "rows"})
    assert response.status_code == 404
