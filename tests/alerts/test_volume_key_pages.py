"""The grid's "Count" and the source page's chart show the source's volume key (issue 16):
the same choice the volume rules judge by (monitoring.volume.volume_key)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule
from confops.accounts.models import AuditEntry
from tests.alerts.factories import deployment, rule, run, source
from tests.alerts.pages import cell_html

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["dagster/row_count", "sku_count", "Number of records"])
def test_the_grid_counts_by_the_sources_volume_key(viewer_user_client: Client, key: str) -> None:
    now = timezone.now()
    src = source("retail_products", deployment("retail", last_success_at=now))
    run(src, now - timedelta(hours=2), metrics={key: 4321, "bytes": 99})

    cell = cell_html(viewer_user_client.get("/").content.decode(), src.slug)

    assert "4,321" in cell


def test_the_source_page_charts_the_volume_key_by_default(viewer_user_client: Client) -> None:
    now = timezone.now()
    src = source("retail_products", deployment("retail", last_success_at=now))
    for day in range(1, 4):
        run(src, now - timedelta(days=day), metrics={"sku_count": 100 + day, "bytes": 5})

    html: Any = viewer_user_client.get(f"/sources/{src.slug}/").content.decode()

    assert "sku_count of retail_products" in html


def test_the_grid_counts_by_the_operators_key(viewer_user_client: Client) -> None:
    now = timezone.now()
    src = source("retail_products", deployment("retail", last_success_at=now))
    run(src, now - timedelta(hours=2), metrics={"dagster/row_count": 4321, "skus": 77})
    src.volume_metric = "skus"
    src.save(update_fields=["volume_metric"])

    cell = cell_html(viewer_user_client.get("/").content.decode(), src.slug)

    assert "77" in cell and "4,321" not in cell


def test_the_source_page_charts_the_operators_key(viewer_user_client: Client) -> None:
    now = timezone.now()
    src = source("retail_products", deployment("retail", last_success_at=now))
    run(src, now - timedelta(days=1), metrics={"dagster/row_count": 10, "skus": 7})
    src.volume_metric = "skus"
    src.save(update_fields=["volume_metric"])

    html = viewer_user_client.get(f"/sources/{src.slug}/").content.decode()

    assert "skus of retail_products" in html


@pytest.mark.parametrize("key", ["sku_count", "Number of records"])
def test_the_chart_draws_the_default_drop_band_on_the_chosen_key(
    viewer_user_client: Client, key: str
) -> None:
    AlertRule.objects.filter(kind="volume_drop").delete()
    rule("Volume drop", "volume_drop", parameters={"metric": "auto", "percent": 30})
    now = timezone.now()
    src = source("retail_prices", deployment("retail", last_success_at=now))
    for day in range(10, 0, -1):
        run(src, now - timedelta(days=day), metrics={key: 1000 + day, "bytes": 5})

    chosen = viewer_user_client.get(f"/sources/{src.slug}/").content.decode()
    other = viewer_user_client.get(f"/sources/{src.slug}/?metric=bytes").content.decode()

    assert 'class="chart-line threshold"' in chosen
    assert "Volume drop: 70 % of the trailing average" in chosen
    assert 'class="chart-line threshold"' not in other


def priced(now: Any) -> Any:
    src = source("retail_prices", deployment("retail", last_success_at=now))
    for hours in (3, 2):
        run(src, now - timedelta(hours=hours), metrics={"dagster/row_count": 900, "skus": 70})
    return src


def test_the_page_offers_the_reported_keys_with_automatic_first(
    operator_client: Client,
) -> None:
    src = priced(timezone.now())

    html = operator_client.get(f"/sources/{src.slug}/").content.decode()

    form = html[html.index('id="volume-key"') :]
    assert '<option value="" selected>automatic (currently dagster/row_count)</option>' in form
    assert "skus — last 70, 2 reports" in form
    assert form.index("automatic") < form.index("skus —")


def test_a_viewer_sees_the_volume_key_without_the_choice(viewer_user_client: Client) -> None:
    src = priced(timezone.now())

    html = viewer_user_client.get(f"/sources/{src.slug}/").content.decode()

    assert "dagster/row_count, chosen automatically" in html
    assert 'name="volume_metric"' not in html
    response = viewer_user_client.post(
        f"/sources/{src.slug}/volume-metric/", {"volume_metric": "skus"}
    )
    assert response.status_code == 403
    src.refresh_from_db()
    assert src.volume_metric == ""


def test_an_operator_chooses_another_key_audited(operator_client: Client) -> None:
    src = priced(timezone.now())

    response = operator_client.post(
        f"/sources/{src.slug}/volume-metric/",
        {"volume_metric": "skus"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "the volume rules, the grid and the chart use skus" in response.content.decode()
    src.refresh_from_db()
    assert src.volume_metric == "skus"
    entry = AuditEntry.objects.get(object_type="monitoring.Source")
    assert entry.changes == {"volume_metric": ["", "skus"]}
    assert entry.actor is not None
    page = operator_client.get(f"/sources/{src.slug}/").content.decode()
    assert "skus of retail_prices" in page


def test_a_bad_key_is_said_and_changes_nothing(operator_client: Client) -> None:
    src = priced(timezone.now())

    response = operator_client.post(
        f"/sources/{src.slug}/volume-metric/",
        {"volume_metric": "a<b>"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert "letters, digits" in response.content.decode()
    src.refresh_from_db()
    assert src.volume_metric == ""
    assert not AuditEntry.objects.filter(object_type="monitoring.Source").exists()


def test_without_htmx_the_choice_returns_to_the_page(operator_client: Client) -> None:
    src = priced(timezone.now())
    response = operator_client.post(
        f"/sources/{src.slug}/volume-metric/", {"volume_metric": "skus"}
    )
    assert response.status_code == 303 and response["Location"] == f"/sources/{src.slug}/"
