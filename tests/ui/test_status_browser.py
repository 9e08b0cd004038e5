"""The status page in a real browser: colours as rendered, the htmx refresh picking up a change
without a reload, the error of a failed run on hover and on keyboard focus, a phone's width."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.choices import AlertState, Severity
from monitoring.choices import SourceKind
from monitoring.models import Deployment, Source
from tests.alerts.factories import deployment, run, source
from tests.alerts.pages import open_alert
from tests.fixtures.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The CSS colours of the cells' left border (static/confops/confops.css).
GREEN, YELLOW, RED, GREY = (
    "rgb(26, 127, 55)",
    "rgb(212, 167, 44)",
    "rgb(207, 34, 46)",
    "rgb(110, 119, 129)",
)


def succeeded(key: str, dep: Deployment | None, **fields: Any) -> Source:
    created = source(key, dep, **fields)
    run(created, timezone.now() - timedelta(hours=2), metrics={"count": 420})
    return created


def border_colour(page: Any, slug: str) -> str:
    cell = page.locator(f"#cell-{slug}")
    return str(cell.evaluate("el => getComputedStyle(el).borderLeftColor"))


def test_the_grid_shows_each_state_in_its_colour_with_a_word(
    page: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    now = timezone.now()
    calm, warned, burning = succeeded("calm", dep), succeeded("warned", dep), succeeded("burn", dep)
    paused = succeeded("resting", dep, paused=True)
    open_alert(warned, Severity.WARNING, now=now)
    open_alert(burning, Severity.CRITICAL, now=now)

    page.goto("/")
    log_in(page, *operator)

    expected = {calm: (GREEN, "Healthy"), warned: (YELLOW, "Warning")}
    expected |= {burning: (RED, "Critical"), paused: (GREY, "Paused")}
    for src, (colour, word) in expected.items():
        assert border_colour(page, src.slug) == colour, src.key
        assert word.upper() in page.locator(f"#cell-{src.slug} .cell-state").inner_text().upper()
    assert page.locator("#status-counts .count-critical strong").inner_text() == "1"


def test_a_new_critical_alert_and_a_failure_appear_without_a_reload(
    page: Any, operator: tuple[str, str], dep: Deployment, settings: Any
) -> None:
    settings.STATUS_REFRESH_SECONDS = 1
    src = succeeded("elra_conferences", dep)
    page.goto("/")
    log_in(page, *operator)
    assert page.locator(f"#cell-{src.slug}").get_attribute("data-state") == "healthy"
    page.evaluate("window.__statusMarker = 'still here'")

    run(src, timezone.now() - timedelta(minutes=1), ok=False, error="HTTP 503 from elra.info")
    open_alert(src, Severity.CRITICAL, now=timezone.now(), rule_name="Consecutive failures")

    page.wait_for_selector(f"#cell-{src.slug}[data-state=critical]", timeout=8000)
    page.wait_for_selector("#status-counts .count-critical[data-count='1']", timeout=8000)
    assert page.locator("a.bar-failed").count() == 1
    assert "Consecutive failures" in page.locator(f"#cell-{src.slug}").inner_text()
    assert page.evaluate("window.__statusMarker") == "still here"  # no navigation happened


def test_a_page_that_loses_the_portal_says_so_and_recovers(
    page: Any, operator: tuple[str, str], dep: Deployment, settings: Any
) -> None:
    """The refresh's requests are refused in the browser, as when the portal is down."""
    settings.STATUS_REFRESH_SECONDS = 1
    succeeded("elra_conferences", dep)
    page.goto("/")
    log_in(page, *operator)
    assert page.locator("#connection-lost").count() == 0

    page.route("**/?*", lambda route: route.abort("connectionrefused"))
    page.route("**/", lambda route: route.abort("connectionrefused"))
    page.wait_for_selector("#connection-lost", timeout=8000)
    assert "No answer from confops since" in page.locator("#connection-lost").inner_text()
    assert "stale" in (page.locator("body").get_attribute("class") or "")

    page.unroute("**/?*")
    page.unroute("**/")
    page.wait_for_selector("#connection-lost", state="detached", timeout=8000)
    assert "stale" not in (page.locator("body").get_attribute("class") or "")


def test_a_failed_run_shows_its_error_on_hover_and_on_focus(
    page: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    src = source("wikicfp_conferences", dep)
    run(src, timezone.now() - timedelta(hours=6))
    run(src, timezone.now() - timedelta(hours=3), ok=False, error="HTTP 503 from wikicfp.com")
    page.goto("/")
    log_in(page, *operator)

    bar = page.locator("a.bar-failed")
    tip = bar.locator(".tip")
    assert not tip.is_visible()
    bar.hover()
    tip.wait_for(state="visible")
    assert "HTTP 503 from wikicfp.com" in tip.inner_text()
    assert "HTTP 503 from wikicfp.com" in (bar.get_attribute("title") or "")

    page.mouse.move(0, 0)
    tip.wait_for(state="hidden")
    bar.focus()
    tip.wait_for(state="visible")
    assert "HTTP 503" in (bar.get_attribute("aria-label") or "")


def test_on_a_phone_the_timeline_scrolls_and_the_page_does_not(
    page: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    for index in range(6):
        succeeded(f"source_with_a_long_name_{index}", dep)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    log_in(page, *operator)

    scroller = page.locator(".timeline-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def seed_demo(now: Any) -> None:
    """The example pipeline on a bad morning: what the README's screenshot shows."""
    dep = deployment(
        "confradar-local",
        last_success_at=now,
        last_poll_at=now,
        last_poll_duration_ms=48,
        dagster_version="1.13.27",
        ui_url="http://127.0.0.1:3000",
    )
    counts = {
        "ai_deadlines_conferences": 212,
        "acl_web_conferences": 87,
        "chairing_tool_conferences": 143,
        "elra_conferences": 36,
        "wikicfp_conferences": 1480,
    }
    scrapers = {key: source(key, dep, owner="team:scrapers") for key in counts}
    for key, src in scrapers.items():
        for hours in range(22, 0, -3):
            fail = key == "elra_conferences" and hours < 5
            low = key == "wikicfp_conferences" and hours < 2
            value = counts[key] * (0.5 if low else 1) + hours % 5
            run(
                src,
                now - timedelta(hours=hours, minutes=10),
                ok=not fail,
                metrics=None if fail else {"count": value},
                duration_s=40 + hours * 9,
                error="requests.exceptions.HTTPError: 503 Server Error for url: "
                "https://www.elra.info/en/events/",
            )
    store = source("store_conferences", dep, group_name="storage", owner="team:platform")
    for hours in range(22, 0, -3):
        run(store, now - timedelta(hours=hours), metrics={"count": 1950}, duration_s=420)
    source("crawl_job", dep, kind=SourceKind.JOB, is_asset_job=True)
    pushed = source("retail_products_feed", None, group_name="external", owner="team:retail")
    for hours in range(23, 0, -4):
        run(pushed, now - timedelta(hours=hours), metrics={"count": 52000}, duration_s=1500)
    source("acl_anthology_backfill", dep, paused=True)
    elra = scrapers["elra_conferences"]
    open_alert(elra, Severity.CRITICAL, now=now, rule_name="Consecutive failures")
    open_alert(elra, Severity.WARNING, now=now, rule_name="Run failed")
    open_alert(
        scrapers["wikicfp_conferences"],
        Severity.WARNING,
        now=now,
        rule_name="Volume drop",
        state=AlertState.ACKNOWLEDGED,
    )


def test_the_status_page_of_a_bad_morning(page: Any, operator: tuple[str, str]) -> None:
    """Also the README's screenshot (kept by the page fixture under var/test-artifacts)."""
    seed_demo(timezone.now())
    page.goto("/")
    log_in(page, *operator)
    states = page.locator(".cell").evaluate_all("els => els.map(e => e.dataset.state)")
    assert sorted(states) == sorted(["healthy"] * 5 + ["critical", "warning", "paused"])
    assert page.locator("a.bar-failed").count() == 2


def test_a_source_page_opens_from_the_grid_with_its_chart(
    page: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    src = source("wikicfp_conferences", dep, owner="team:scrapers", tags={"tier": "gold"})
    for day in range(20, 0, -1):
        value = 1400 + (day % 4) * 30 if day > 2 else 700
        run(src, timezone.now() - timedelta(days=day), metrics={"count": value})
    run(src, timezone.now() - timedelta(hours=5), ok=False, error="HTTP 503 from wikicfp.com")
    page.goto("/")
    log_in(page, *operator)

    page.click(f"#cell-{src.slug} .cell-name")
    page.wait_for_url(f"**/sources/{src.slug}/")
    chart = page.locator("svg.chart")
    assert chart.is_visible() and chart.locator("path.chart-line.value").count() == 1
    assert chart.locator("path.chart-line.threshold").count() == 1
    assert "HTTP 503 from wikicfp.com" in page.locator("#source-runs").inner_text()
