"""A rendered report checked as a picture in Debian's Chromium: the portal page shows the
headline numbers and bars that have a width, and the email's HTML makes no request at all."""

from __future__ import annotations

from typing import Any

import pytest

from monitoring.models import Source
from reports import sending
from tests.alerts import factories as f
from tests.fixtures.browser import ARTIFACTS
from tests.reports.seed import DAY, NOW, at, seed_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIPELINE = [
    ("ai_deadlines_conferences", 412),
    ("acl_web_conferences", 188),
    ("chairing_tool_conferences", 96),
    ("elra_conferences", 57),
    ("wikicfp_conferences", 1234),
    ("store_conferences", 1987),
]


def seed_pipeline() -> None:
    """The example pipeline's sources, crawled every six hours; elra failing at 08:00."""
    dep = f.deployment("confradar-prod")
    for key, count in PIPELINE:
        source = f.source(key, dep)
        for day_offset in (-3, -2, -1):
            f.run(source, at(2, day_offset), metrics={"count": count})
        for hours in (2, 8, 14, 20):
            ok = not (key == "elra_conferences" and hours == 8)
            error = "ConnectionError: HTTP 503 Service Unavailable from elra.info"
            f.run(source, at(hours), ok=ok, metrics={"count": count - hours}, error=error,
                  duration_s=30 + len(key) * hours / 4)  # fmt: skip
    Source.objects.filter(deployment=dep).update(first_seen_at=at(0, -30))


@pytest.fixture
def report(django_user_model: Any) -> Any:
    seed_day(django_user_model.objects.create_user("ada", password="x"))
    seed_pipeline()
    return sending.generate(DAY, NOW)


def test_the_report_page_shows_the_numbers_and_bars(viewer_page: Any, report: Any) -> None:
    page = viewer_page
    page.goto("/reports/")
    assert page.locator("#report-title").inner_text() == "2026-11-21"
    assert page.locator("#kpi-runs").inner_text().startswith("27 / 30")
    assert page.locator("#kpi-sla").inner_text() == "90.9 %"
    bars = page.locator("#state-bar td.report-bar")
    assert bars.count() == 3
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert all(width > 0 for width in widths)
    failed_bar = page.locator(f"#source-{Source.objects.get(key='beta').pk} td.report-bar").nth(1)
    assert failed_bar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(212, 14, 13)"
    assert failed_bar.bounding_box()["width"] > 10
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "daily-report-page.png"), full_page=True)


def test_the_email_html_renders_without_any_request(page: Any, report: Any) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_viewport_size({"width": 720, "height": 900})
    page.set_content(
        f"<!doctype html><html><body style='margin:0;background:#f4f5f7'>"
        f"<div style='max-width:680px;margin:0 auto;background:#fff;padding:16px 20px'>"
        f"{report.html}</div></body></html>"
    )
    assert page.locator("#kpi-alerts").inner_text() == "3"
    hour_bars = page.locator("#hour-chart div")
    assert hour_bars.count() > 0 and hour_bars.first.bounding_box()["height"] > 0
    assert requests == []
    shot = ARTIFACTS / "daily-report-email.png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
