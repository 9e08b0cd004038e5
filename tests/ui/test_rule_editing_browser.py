"""Typed threshold editing in a real browser: an admin changes a rule's bound on its page, runs
the backtest, sees the progress and then the chart comparing the saved and edited settings (no
error), and saves; under the portal's Content-Security-Policy, with nothing refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import AlertRule
from tests.alerts.factories import deployment, rule, run, source
from tests.fixtures.browser import log_in
from tests.fixtures.personas import ADA, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bounded() -> AlertRule:
    """Daily counts around 1,000 with three days under 800 in the last 30 days."""
    wikicfp = source("wikicfp_conferences", deployment("confradar-local"))
    now = timezone.now()
    for days_ago in range(1, 21):
        count = 700 if days_ago in (4, 9, 15) else 1000 + days_ago
        run(wikicfp, now - timedelta(days=days_ago), metrics={"count": count})
    return rule("Volume bounds", "volume_bounds", parameters={"metric": "count", "min": 500})


def test_an_admin_edits_a_threshold_backtests_it_and_saves(page: Any, bounded: AlertRule) -> None:
    make_user(ADA)
    refused: list[str] = []
    page.on(
        "console", lambda msg: refused.append(msg.text) if "Content-Security" in msg.text else None
    )
    log_in(page, ADA.username, ADA.password)
    page.goto(f"/rules/{bounded.slug}/")
    assert page.locator("h1").inner_text() == "Volume bounds"
    page.fill("#id_param__min", "800")

    page.click("button:has-text('Backtest')")
    page.wait_for_selector("#backtest-progress.htmx-request", timeout=10_000)
    assert "Backtesting 30 days" in page.locator("#backtest-progress").inner_text()
    assert (
        "replaying the saved and the edited setting"
        in page.locator("#backtest-progress").inner_text()
    )
    # While it runs the button is disabled: a second click cannot start a second backtest.
    assert page.locator("button:has-text('Backtest')").is_disabled()
    # Two replays (saved and edited) in child processes: seconds alone, longer on a busy CI.
    page.wait_for_selector("#backtest svg.backtest-chart", timeout=180_000)
    result = page.locator("#backtest").inner_text()
    assert "saved: 0 alerts, edited: 3 alerts" in result
    assert page.locator("#backtest .threshold-edited").count() == 1
    assert page.locator("#backtest .mark-edited").count() == 3
    assert page.locator("#id_param__min").input_value() == "800"  # still as typed
    assert page.locator("button:has-text('Backtest')").is_enabled()

    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/rules/{bounded.slug}/")
    bounded.refresh_from_db()
    assert bounded.parameters == {"metric": "count", "min": 800.0}
    assert page.locator("#id_param__min").input_value() == "800"
    assert refused == []
