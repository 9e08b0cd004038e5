"""The tab carries the state in a real browser (issue 18): the title's count and the favicon
follow an alert that starts firing at the next refresh, without a reload; during a silence the
grid marks the source "silenced" and the status page and the alerts page count alike."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from alerts import operations
from alerts.choices import Severity
from monitoring.models import Deployment
from tests.alerts.pages import open_alert
from tests.fixtures.browser import ARTIFACTS, log_in
from tests.fixtures.personas import Persona
from tests.ui.test_status_browser import succeeded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 10_000


def favicon(page: Any) -> str:
    return str(page.locator("link#favicon").get_attribute("href"))


def test_the_tab_title_and_favicon_change_when_an_alert_starts_firing(
    page: Any, operator: tuple[str, str], dep: Deployment, settings: Any
) -> None:
    settings.STATUS_REFRESH_SECONDS = 1
    src = succeeded("elra_conferences", dep)
    page.goto("/")
    log_in(page, *operator)
    assert page.title() == "Status · confops"
    assert favicon(page).endswith("/ok.svg")

    open_alert(src, Severity.CRITICAL, now=timezone.now())

    # expect() polls without evaluating strings, which the Content-Security-Policy forbids.
    expect(page).to_have_title("(1) Status · confops", timeout=WAIT_MS)
    icon = page.locator("link#favicon")
    expect(icon).to_have_attribute("href", re.compile(r"/critical\.svg$"), timeout=WAIT_MS)
    assert page.locator("#status-counts .count-critical strong").inner_text() == "1"


def test_a_silenced_source_is_marked_and_both_pages_count_alike(
    page: Any, operator: tuple[str, str], operator_page_user: Persona, dep: Deployment
) -> None:
    now = timezone.now()
    elra, wikicfp = succeeded("elra_conferences", dep), succeeded("wikicfp_conferences", dep)
    silenced = open_alert(elra, Severity.CRITICAL, now=now)
    otto = get_user_model().objects.get(username=operator_page_user.username)
    operations.silence_alert(silenced, 2, otto, now)
    open_alert(wikicfp, Severity.WARNING, now=now)

    page.goto("/")
    log_in(page, *operator)
    mark = page.locator(f"#cell-{elra.slug} .cell-silenced")
    mark.wait_for(timeout=WAIT_MS)
    assert (mark.text_content() or "").strip() == "silenced" and mark.is_visible()
    assert page.locator(f"#cell-{wikicfp.slug} .cell-silenced").count() == 0
    counts = page.locator("#status-counts")
    assert counts.locator(".count-critical strong").inner_text() == "0"
    assert counts.locator(".count-warning strong").inner_text() == "1"
    assert "1 held back" in counts.inner_text()
    assert page.title() == "(1) Status · confops"
    assert favicon(page).endswith("/warning.svg")
    page.screenshot(path=str(ARTIFACTS / "tab_state_silenced_status.png"))

    page.goto("/alerts/")
    counters = page.locator("#alert-counters")
    assert counters.locator(".counter-firing strong").inner_text() == "1"
    assert counters.locator(".counter-held strong").inner_text() == "1"
    assert page.title() == "(1) Alerts · confops"


def test_the_alerts_counters_and_tab_follow_a_new_alert_without_a_reload(
    operator_page: Any, dep: Deployment, settings: Any
) -> None:
    settings.STATUS_REFRESH_SECONDS = 1
    page = operator_page
    page.goto("/alerts/")
    page.evaluate("window.__notReloaded = true")
    counters = page.locator("#alert-counters")
    assert counters.locator(".counter-firing strong").inner_text() == "0"
    assert page.title() == "Alerts · confops"

    open_alert(succeeded("elra_conferences", dep), Severity.CRITICAL, now=timezone.now())

    expect(counters.locator(".counter-firing strong")).to_have_text("1", timeout=WAIT_MS)
    expect(counters.locator(".counter-incidents")).to_have_text("1 incident firing")
    expect(page).to_have_title("(1) Alerts · confops", timeout=WAIT_MS)
    expect(page.locator("link#favicon")).to_have_attribute(
        "href", re.compile(r"/critical\.svg$"), timeout=WAIT_MS
    )
    assert page.evaluate("window.__notReloaded") is True


def test_the_favicon_goes_grey_while_the_page_is_stale_and_back_when_it_answers(
    operator_page: Any, dep: Deployment, settings: Any
) -> None:
    settings.STATUS_REFRESH_SECONDS = 1
    open_alert(succeeded("elra_conferences", dep), Severity.CRITICAL, now=timezone.now())
    page = operator_page
    page.goto("/")
    icon = page.locator("link#favicon")
    assert favicon(page).endswith("/critical.svg")

    page.route("**/", lambda route: route.abort("connectionrefused"))
    page.locator("#connection-lost").wait_for(timeout=WAIT_MS)
    expect(icon).to_have_attribute("href", re.compile(r"/unknown\.svg$"), timeout=WAIT_MS)

    page.unroute("**/")
    page.locator("#connection-lost").wait_for(state="detached", timeout=WAIT_MS)
    expect(icon).to_have_attribute("href", re.compile(r"/critical\.svg$"), timeout=WAIT_MS)
