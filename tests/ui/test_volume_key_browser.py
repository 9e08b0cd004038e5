"""In a real browser: an operator picks a source's volume key from what it reports and the choice
is shown in place, carried by htmx with base.html's CSRF header (issue 16)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from monitoring.models import Source
from tests.alerts import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_picks_another_volume_key_in_place(operator_page: Any) -> None:
    now = timezone.now()
    src = f.source("retail_prices", f.deployment("retail", last_success_at=now))
    for hours in (3, 2):
        f.run(src, now - timedelta(hours=hours), metrics={"dagster/row_count": 900, "skus": 70})
    page = operator_page
    page.goto(f"/sources/{src.slug}/")
    page.evaluate("window.__notReloaded = true")
    page.evaluate(
        "document.querySelectorAll('input[name=csrfmiddlewaretoken]').forEach(e => e.remove())"
    )
    box = page.locator("#volume-key")
    assert "automatic (currently dagster/row_count)" in box.inner_text()

    box.locator("select[name=volume_metric]").select_option("skus")
    box.get_by_role("button", name="Use").click()

    page.locator("#volume-key").get_by_text("the chart use skus").wait_for()
    assert page.evaluate("window.__notReloaded === true")
    assert Source.objects.get(pk=src.pk).volume_metric == "skus"
