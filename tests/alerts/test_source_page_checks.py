"""The source page lists every check Dagster declares on the source, before its first run too,
with whether it blocks downstream and the severity of its latest evaluation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.choices import CheckSeverity
from monitoring.models import CheckResult, Source
from tests.alerts.factories import deployment, source

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> Source:
    src = source(
        "retail/acme/products",
        deployment("retailfeed"),
        asset_checks=[
            {"name": "acme_products_have_skus", "description": "has SKUs", "blocking": True},
            {"name": "prices_cover_products", "description": "", "blocking": False},
        ],
    )
    Source.objects.filter(pk=src.pk).update(slug="retail-acme-products")
    src.refresh_from_db()
    return src


def rows(client: Client, src: Source) -> dict[str, str]:
    """Check name -> its row's text, tags stripped."""
    response = client.get(f"/sources/{src.slug}/")
    assert response.status_code == 200
    section = response.content.decode().split('id="checks-title"')[1].split("</section>")[0]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]:
        text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        found[text.split()[0]] = text
    return found


def test_declared_checks_show_before_they_run_with_their_blocking_flag(
    viewer_user_client: Client, products: Source
) -> None:
    found = rows(viewer_user_client, products)
    assert set(found) == {"acme_products_have_skus", "prices_cover_products"}
    assert found["acme_products_have_skus"].startswith("acme_products_have_skus blocking — not run")
    assert "has SKUs" in found["acme_products_have_skus"]
    assert found["prices_cover_products"].startswith("prices_cover_products no — not run yet")


def test_an_evaluated_check_shows_its_severity_beside_its_blocking_flag(
    viewer_user_client: Client, products: Source
) -> None:
    for name, severity in (("acme_products_have_skus", "ERROR"), ("undeclared", "WARN")):
        CheckResult.objects.create(
            source=products,
            check_name=name,
            passed=False,
            severity=CheckSeverity(severity),
            evaluated_at=timezone.now() - timedelta(hours=1),
        )
    found = rows(viewer_user_client, products)
    assert found["acme_products_have_skus"].startswith(
        "acme_products_have_skus blocking ERROR failed (ERROR)"
    )
    assert found["undeclared"].startswith("undeclared no WARN failed (WARN)")
