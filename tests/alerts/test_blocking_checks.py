"""A failed check that Dagster declares blocking is judged as blocking: its alert says it stopped
the materialisations downstream (evaluations do not carry the flag; discovery does)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.engine import evaluation, history
from alerts.models import Alert
from monitoring.models import CheckResult, Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
DECLARED = [
    {"name": "acme_products_have_skus", "description": "", "blocking": True},
    {"name": "prices_positive", "description": "", "blocking": False},
]


@pytest.fixture
def products() -> Source:
    return f.source("retail/acme/products", f.deployment("retailfeed"), asset_checks=DECLARED)


def fail(source: Source, name: str, minutes_ago: int = 5) -> None:
    CheckResult.objects.create(
        source=source,
        check_name=name,
        passed=False,
        severity="ERROR",
        description="no SKUs",
        evaluated_at=timezone.now() - timedelta(minutes=minutes_ago),
        dagster_run_id="r1",
    )


def test_the_history_marks_only_declared_blocking_checks(products: Source) -> None:
    fail(products, "acme_products_have_skus")
    fail(products, "prices_positive")
    fail(products, "undeclared")
    checks = history.load_sources([products])[products.pk].checks
    assert {c.check_name: c.blocking for c in checks} == {
        "acme_products_have_skus": True,
        "prices_positive": False,
        "undeclared": False,
    }


def test_asset_check_error_says_a_failed_blocking_check_blocked_downstream(
    products: Source,
) -> None:
    fail(products, "acme_products_have_skus")
    evaluation.evaluate(timezone.now())
    alert = Alert.objects.get(rule__name="Asset check ERROR", source=products)
    assert "acme_products_have_skus failed (ERROR, blocking downstream)" in alert.summary
    assert alert.details["checks"][0]["blocking"] is True
