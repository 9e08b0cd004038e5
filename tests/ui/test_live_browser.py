"""Open pages never go stale without saying so, in a real browser: the alerts list shows a new
alert without a reload and keeps its filters; a refresh that fails or hangs puts up "connection
lost: data from HH:MM:SS" and greys the page until one answers; an ended session takes the whole
page to the login with ``next``; focus survives a refresh; a refresh waits while the user types;
without JavaScript the pages say they do not refresh."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from alerts.choices import Severity
from alerts.models import Alert
from tests.alerts import factories as f
from tests.alerts.pages import open_alert
from tests.fixtures.browser import log_in, opened_page
from tests.fixtures.personas import Persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BANNER = re.compile(r"^connection lost: data from \d\d:\d\d:\d\d\. ")


@pytest.fixture
def fast(settings: Any) -> None:
    """Every list refreshes each second (the live server reads settings per request)."""
    settings.STATUS_REFRESH_SECONDS = 1


@pytest.fixture
def elra() -> Alert:
    return open_alert(
        f.source("elra_conferences", f.deployment()),
        Severity.WARNING,
        now=timezone.now(),
        rule_name="Run failed",
    )


def mark_region(page: Any, region: str) -> None:
    """A flag on the region that only a refresh (which replaces it) takes away."""
    page.evaluate(f"document.getElementById('{region}').dataset.old = 'yes'")


def refreshed(page: Any, region: str) -> None:
    """Waits for the marked region to be replaced (no wait_for_function: the CSP forbids eval)."""
    page.locator(f"#{region}[data-old]").wait_for(state="detached")


def stale(page: Any) -> bool:
    return "stale" in (page.locator("body").get_attribute("class") or "").split()


def test_the_alerts_list_shows_a_new_firing_alert_without_a_reload_and_keeps_its_filters(
    operator_page: Any, fast: None, elra: Alert
) -> None:
    page = operator_page
    page.goto("/alerts/?severity=warning")
    page.evaluate("window.__notReloaded = true")

    dep = elra.source.deployment  # type: ignore[union-attr]
    wikicfp = open_alert(f.source("wikicfp", dep), Severity.WARNING, now=timezone.now())
    other = open_alert(f.source("acl_web", dep), Severity.CRITICAL, now=timezone.now())

    page.locator(f"#alert-{wikicfp.pk}").wait_for()
    assert page.locator(f"#alert-{other.pk}").count() == 0  # the filter still applies
    assert page.url.endswith("/alerts/?severity=warning")
    assert page.evaluate("window.__notReloaded") is True


def test_a_refresh_the_portal_refuses_says_connection_lost_and_clears_when_it_answers(
    operator_page: Any, fast: None, elra: Alert
) -> None:
    page = operator_page
    page.goto("/silences/")
    assert page.locator("#connection-lost").count() == 0

    page.route("**/silences/", lambda route: route.abort("connectionrefused"))
    banner = page.locator("#connection-lost")
    banner.wait_for()
    assert BANNER.match(banner.inner_text())
    assert "No answer from confops since" in banner.inner_text()
    assert stale(page)

    page.unroute("**/silences/")
    banner.wait_for(state="detached")
    assert not stale(page)


def test_a_refresh_that_never_answers_says_connection_lost_after_two_intervals(
    operator_page: Any, fast: None, elra: Alert
) -> None:
    page = operator_page
    page.goto("/alerts/")
    held: list[Any] = []
    page.route(
        "**/alerts/", lambda route: held.append(route)
    )  # the request is never answered while held
    banner = page.locator("#connection-lost")
    banner.wait_for()
    assert BANNER.match(banner.inner_text())
    assert "No refresh has answered for" in banner.inner_text()
    assert stale(page)

    assert held
    page.unroute("**/alerts/")  # the held requests go on to the portal, which answers
    banner.wait_for(state="detached")


def test_an_ended_session_takes_the_whole_page_to_the_login_with_next(
    operator_page: Any, fast: None, elra: Alert
) -> None:
    page = operator_page
    page.goto("/alerts/?severity=warning")
    page.context.clear_cookies()

    page.wait_for_url(re.compile(r"/accounts/login/\?next=%2Falerts%2F%3Fseverity%3Dwarning$"))
    assert page.locator("#alert-lists").count() == 0
    assert page.locator("#id_username").is_visible()


def test_the_focused_button_keeps_the_focus_across_a_refresh(
    operator_page: Any, fast: None, elra: Alert
) -> None:
    page = operator_page
    page.goto("/alerts/")
    row = page.locator(f"#alert-{elra.pk}")
    row.get_by_role("button", name="4 h", exact=True).focus()
    mark_region(page, "alert-lists")

    refreshed(page, "alert-lists")
    focused = page.evaluate(
        "(a => [a.closest('article') && a.closest('article').id, a.value])(document.activeElement)"
    )
    assert focused == [f"alert-{elra.pk}", "4"]


def test_a_refresh_waits_while_the_user_types_a_note(
    operator_page: Any, fast: None, elra: Alert
) -> None:
    page = operator_page
    page.goto("/alerts/")
    page.evaluate(
        "document.addEventListener('htmx:beforeRequest', e => { if (e.defaultPrevented)"
        " document.body.dataset.held = +(document.body.dataset.held || 0) + 1; })"
    )
    note = page.locator(f"#alert-{elra.pk} input[name=note]")
    note.click()
    note.press_sequentially("looking at el")
    mark_region(page, "alert-lists")

    page.locator("body[data-held='2']").wait_for(state="attached")  # two refreshes held back
    assert page.evaluate("document.getElementById('alert-lists').dataset.old") == "yes"
    assert note.input_value() == "looking at el"
    assert not stale(page)

    page.locator("h1").click()  # done typing: the refresh goes on
    refreshed(page, "alert-lists")


def test_the_status_page_says_how_often_it_refreshes_only_when_it_does(
    operator_page: Any, fast: None
) -> None:
    page = operator_page
    page.goto("/")
    assert "every 1 s" in page.locator("#status-body .summary").inner_text()
    assert not page.locator(".noscript-note").is_visible()


@pytest.fixture
def no_script_page(browser: Any, live_server: Any, operator_page_user: Persona) -> Iterator[Any]:
    with opened_page(browser, live_server, java_script_enabled=False) as opened:
        yield opened


def test_without_javascript_each_page_says_it_does_not_refresh(
    no_script_page: Any, operator_page_user: Persona
) -> None:
    page = no_script_page
    log_in(page, operator_page_user.username, operator_page_user.password)
    for url in ("/", "/alerts/", "/silences/"):
        page.goto(url)
        note = page.locator(".noscript-note")
        assert note.is_visible(), url
        assert "does not refresh itself without JavaScript" in note.inner_text()
    page.goto("/")
    assert "every" not in page.locator("#status-body .summary").inner_text()
