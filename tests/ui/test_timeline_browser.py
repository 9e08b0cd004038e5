"""The status page's run timeline in a real browser (issue 18): zoom on a desktop and on a
phone, the "now" line in view at 390 px, a tap opening a run's details, a short failure visible."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from monitoring.models import Deployment
from tests.alerts.factories import run, source
from tests.fixtures.browser import log_in, opened_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """A touch screen 390 px wide (taps are touch events, there is no hover)."""
    with opened_page(browser, live_server, viewport=PHONE, has_touch=True) as opened:
        yield opened


def three_runs(dep: Deployment) -> None:
    """Runs that ended 30 min, 3 h and 12 h ago: one in each zoom's window more."""
    src = source("wikicfp_conferences", dep)
    now = timezone.now()
    for hours in (0.5, 3, 12):
        run(src, now - timedelta(hours=hours), duration_s=120)


def zoom(page: Any, label: str, heading: str, tap: bool = False) -> None:
    radio = page.get_by_label(label, exact=True)
    radio.tap() if tap else radio.check()
    page.wait_for_function(
        "text => document.querySelector('#timeline-title').textContent.includes(text)",
        arg=heading,
        timeout=10_000,
    )


def test_zoom_switches_the_window_and_a_reload_keeps_it_on_a_desktop(
    page: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    three_runs(dep)
    page.goto("/")
    log_in(page, *operator)
    assert page.locator("span.bar.bar-ok").count() == 3

    zoom(page, "1 hour", "Runs in the last hour")
    assert page.locator("span.bar.bar-ok").count() == 1
    assert "window=1h" in page.url

    page.reload()
    assert "Runs in the last hour" in page.locator("#timeline-title").inner_text()
    zoom(page, "6 hours", "Runs in the last 6 hours")
    assert page.locator("span.bar.bar-ok").count() == 2


def test_on_a_phone_zoom_works_and_now_stays_in_view(
    phone: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    three_runs(dep)
    phone.goto("/")
    log_in(phone, *operator)

    for label, heading in (("24 hours", "24 hours"), ("6 hours", "6 hours"), ("1 hour", "hour")):
        if label != "24 hours":
            zoom(phone, label, f"Runs in the last {heading}", tap=True)
        now = phone.locator("#timeline-now").bounding_box()
        line = phone.locator(".tl-now-line").bounding_box()
        assert now is not None and line is not None
        assert now["x"] >= 0 and now["x"] + now["width"] <= PHONE["width"], label
        assert 0 <= line["x"] <= PHONE["width"], label
        assert phone.locator("#timeline-now").inner_text().startswith("now ")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_tap_opens_a_runs_details_on_a_phone(
    phone: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    src = source("elra_conferences", dep)
    now = timezone.now()
    run(src, now - timedelta(hours=1), duration_s=600)
    run(src, now - timedelta(hours=3), ok=False, error="HTTP 503 from elra.info", duration_s=600)
    phone.goto("/?window=6h")
    log_in(phone, *operator)
    phone.goto("/?window=6h")
    address = phone.url

    failed = phone.locator("a.bar-failed")
    tip = failed.locator(".tip")
    assert not tip.is_visible()
    failed.tap()
    tip.wait_for(state="visible")
    assert "HTTP 503 from elra.info" in tip.inner_text()
    assert phone.url == address and len(phone.context.pages) == 1  # no jump to Dagster

    success = phone.locator("span.bar-ok")
    success.tap()
    tip.wait_for(state="hidden")
    assert success.evaluate("el => document.activeElement === el")
    details = success.evaluate("el => getComputedStyle(el, '::after').content")
    assert "Succeeded: started" in details


def test_a_failure_of_one_second_stays_visible_over_successes(
    page: Any, operator: tuple[str, str], dep: Deployment
) -> None:
    src = source("acl_web_conferences", dep)
    now = timezone.now()
    run(src, now - timedelta(hours=5), ok=False, error="timeout", duration_s=1)
    run(src, now - timedelta(hours=4, minutes=30), duration_s=3600)  # covers the failure's time
    page.goto("/")
    log_in(page, *operator)

    failed = page.locator("a.bar-failed")
    box = failed.bounding_box()
    assert box is not None and box["width"] >= 4
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.bar').className", list(centre)
    )
    assert "bar-failed" in on_top
