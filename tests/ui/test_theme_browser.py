"""Dark mode and a phone's width on every portal page, in Debian's Chromium: at 390 px, light and
dark, no page scrolls sideways (a table may scroll inside its own box); in dark the page is dark
with light text; the header's theme toggle survives navigation and reload, and the server
renders it (no flash); long source names wrap at their separators instead of being cut. Screenshots
of every page in both themes (and of the main pages at a desktop's width in dark) are kept in the
artifacts folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.choices import Severity
from alerts.models import Alert, Runbook, Silence
from reports import sending
from tests.alerts import factories as f
from tests.alerts.incidents import incident_of
from tests.alerts.pages import open_alert
from tests.fixtures.browser import ARTIFACTS, log_in
from tests.fixtures.personas import ADA, Persona, make_user
from tests.reports.seed import DAY, NOW, seed_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_KEY = "international_conference_on_computational_linguistics_and_language_resources_feed"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Pages seen before logging in, and pages only an admin opens (the rule page: viewers get 403).
ANONYMOUS = {"login": "/accounts/login/"}


@pytest.fixture
def pages(django_user_model: Any, operator_page_user: Persona) -> dict[str, str]:
    """A past day's report and today's built so far, a deployment with a long-named failing
    source under a firing alert in an incident, a silence and a runbook: every portal page an
    operator opens, none of them empty."""
    seed_day(django_user_model.objects.create_user("ada-report", password="x"))
    sending.generate(DAY, NOW)
    now = timezone.now()
    sending.build_so_far(now)  # the reports page opens on today's partial report
    dep = f.deployment("confradar-production-eu-west-1-long-deployment-name")
    long_named = f.source(LONG_KEY, dep, runbook_slug="elra-down")
    f.run(long_named, now - timedelta(hours=3), metrics={"count": 1_234_567})
    error = "ConnectionError: HTTPSConnectionPool(host='www.elra.info', port=443): " * 3
    f.run(long_named, now - timedelta(minutes=20), ok=False, error=error)
    alert = open_alert(long_named, Severity.CRITICAL, now=now)
    incident = incident_of(f"{LONG_KEY} is failing", alert)
    Silence.objects.create(
        source=long_named, starts_at=now, ends_at=now + timedelta(hours=2),
        comment="Maintenance of " + LONG_KEY,
    )  # fmt: skip
    Runbook.objects.create(
        slug="elra-down", title="When " + LONG_KEY + " is down",
        body="Check https://www.elra.info/en/catalogues/language-resources-announcements/ first.",
    )  # fmt: skip
    return {
        "status": "/",
        "source": f"/sources/{long_named.slug}/",
        "alerts": "/alerts/",
        "alert": f"/alerts/{alert.pk}/",
        "incident": f"/incidents/{incident.pk}/",
        "silences": "/silences/",
        "silence_form": f"/silences/new/?source={LONG_KEY}",
        "runbooks": "/runbooks/",
        "runbook": "/runbooks/elra-down/",
        "runbook_edit": "/runbooks/elra-down/edit/",
        "report": "/reports/",
        "report_day": f"/reports/{DAY.isoformat()}/",
    }


@pytest.fixture
def admin_pages(pages: dict[str, str]) -> dict[str, str]:
    """The rule page of the long-named source's alert, which only an admin may open."""
    make_user(ADA)
    return {"rule": f"/rules/{Alert.objects.get(source__key=LONG_KEY).rule_id}/"}


@pytest.fixture
def contexts(browser: Any, live_server: Any) -> Iterator[list[Any]]:
    """Browser contexts the test opens itself, closed at its end."""
    opened: list[Any] = []
    yield opened
    for context in opened:
        context.close()


def phone(
    browser: Any, live_server: Any, contexts: list[Any], scheme: str, viewport: Any = PHONE
) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport=viewport, color_scheme=scheme)
    contexts.append(context)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    return opened


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"theme_{name}.png"), full_page=True)


def sideways_overflow(page: Any) -> int:
    """How many pixels the document is wider than the window (0 when it does not scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


# The innermost elements reaching past the window's right edge, to name the culprit on failure.
WIDE_ELEMENTS = """() => {
  const out = el => el.getBoundingClientRect().right > window.innerWidth + 1;
  return [...document.querySelectorAll('main *')]
    .filter(el => out(el) && ![...el.children].some(out))
    .slice(0, 4).map(el => el.tagName.toLowerCase() + '#' + el.id + ' '
      + Math.round(el.getBoundingClientRect().right) + ' ' + el.textContent.slice(0, 40));
}"""


def luminance(page: Any, selector: str, prop: str) -> float:
    """Relative luminance (0 black, 1 white) of a computed colour."""
    colour = page.locator(selector).first.evaluate(f"el => getComputedStyle(el).{prop}")
    r, g, b = (int(c) / 255 for c in re.findall(r"\d+", colour)[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_a_phone_and_follows_the_colour_scheme(
    browser: Any, live_server: Any, contexts: list[Any], pages: dict[str, str],
    admin_pages: dict[str, str], operator_page_user: Persona, scheme: str,
) -> None:  # fmt: skip
    page = phone(browser, live_server, contexts, scheme)
    overflowing: dict[str, tuple[int, list[str]]] = {}
    check_pages(page, ANONYMOUS, scheme, overflowing)
    log_in(page, operator_page_user.username, operator_page_user.password)
    check_pages(page, pages, scheme, overflowing)
    as_admin = phone(browser, live_server, contexts, scheme)
    log_in(as_admin, ADA.username, ADA.password)
    check_pages(as_admin, admin_pages, scheme, overflowing)
    assert not overflowing, f"wider than 390 px (by px, what reaches out): {overflowing}"


def check_pages(
    page: Any, urls: dict[str, str], scheme: str, overflowing: dict[str, tuple[int, list[str]]]
) -> None:
    """Each page in ``scheme``: a screenshot kept, its sideways overflow noted, and its text
    readable on its background (7:1), light on dark or dark on light as the scheme says."""
    for name, url in urls.items():
        page.goto(url)
        page.wait_for_load_state("load")
        screenshot(page, f"{scheme}_390_{name}")
        if overflow := sideways_overflow(page):
            overflowing[url] = (overflow, page.evaluate(WIDE_ELEMENTS))
        assert_follows_the_scheme(page, url, scheme)


def assert_follows_the_scheme(page: Any, url: str, scheme: str) -> None:
    background = luminance(page, "body", "backgroundColor")
    text = luminance(page, "main", "color")
    contrast = (max(background, text) + 0.05) / (min(background, text) + 0.05)
    assert contrast >= 7, (url, contrast)
    if scheme == "dark":
        assert background < 0.05 < 0.6 < text, (url, background, text)
    else:
        assert text < 0.05 < 0.6 < background, (url, background, text)


def test_the_main_pages_are_dark_at_a_desktops_width(
    browser: Any, live_server: Any, contexts: list[Any], pages: dict[str, str],
    operator_page_user: Persona,
) -> None:  # fmt: skip
    page = phone(browser, live_server, contexts, "dark", viewport=DESKTOP)
    log_in(page, operator_page_user.username, operator_page_user.password)
    for name in ("status", "alerts", "incident", "report"):
        page.goto(pages[name])
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"theme_dark_1280_{name}.png"), full_page=True)
        assert_follows_the_scheme(page, pages[name], "dark")


def test_the_toggle_persists_across_pages_and_reloads_without_a_flash(
    page: Any, pages: dict[str, str], operator_page_user: Persona
) -> None:
    log_in(page, operator_page_user.username, operator_page_user.password)
    page.goto("/")
    toggle = page.locator("#theme-toggle")
    assert toggle.inner_text() == "Theme: auto"
    assert luminance(page, "body", "backgroundColor") > 0.6  # the context prefers light

    toggle.click()
    assert toggle.inner_text() == "Theme: dark"
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert luminance(page, "body", "backgroundColor") < 0.05
    assert page.evaluate("localStorage.getItem('theme')") == "dark"  # the admin's key

    for url in ("/alerts/", "/reports/"):
        response = page.goto(url)
        assert 'data-theme="dark"' in response.text()  # rendered by the server, from the cookie
        assert luminance(page, "body", "backgroundColor") < 0.05
    page.reload()
    assert page.locator("#theme-toggle").inner_text() == "Theme: dark"

    page.locator("#theme-toggle").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.reload()
    assert luminance(page, "body", "backgroundColor") > 0.6
    page.locator("#theme-toggle").click()
    assert page.locator("#theme-toggle").inner_text() == "Theme: auto"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["confops_theme"] == "auto"


def test_a_theme_chosen_in_the_admin_reaches_the_portal(page: Any, transactional_db: None) -> None:
    make_user(ADA)
    log_in(page, ADA.username, ADA.password)
    page.goto("/admin/")
    page.locator("button.theme-toggle").first.click()  # the admin's: auto (light) -> dark
    assert page.evaluate("localStorage.getItem('theme')") == "dark"
    response = page.goto("/")
    assert 'data-theme="dark"' in response.text()
    assert page.locator("#theme-toggle").inner_text() == "Theme: dark"


def test_a_long_source_name_wraps_in_its_cell_instead_of_being_cut(
    page: Any, pages: dict[str, str], operator_page_user: Persona
) -> None:
    log_in(page, operator_page_user.username, operator_page_user.password)
    page.goto("/")
    name = page.locator(".cell-name", has_text=LONG_KEY[:20]).first
    assert name.inner_text().replace("\u200b", "").replace("\n", "") == LONG_KEY
    cut = name.evaluate("el => el.scrollWidth > el.clientWidth")
    assert not cut


# The text of an element, line by line as the browser wrapped it.
RENDERED_LINES = """el => {
  const lines = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const top = Math.round(range.getBoundingClientRect().top);
      const last = lines[lines.length - 1];
      if (!last || Math.abs(last.top - top) > 2) lines.push({top, text: ''});
      lines[lines.length - 1].text += node.data[i];
    }
  }
  return lines.map(line => line.text);
}"""


@pytest.mark.parametrize("where", [".cell-name", "main h1"])
def test_a_long_name_wraps_at_its_separators_on_a_phone(
    browser: Any, live_server: Any, contexts: list[Any], pages: dict[str, str],
    operator_page_user: Persona, where: str,
) -> None:  # fmt: skip
    page = phone(browser, live_server, contexts, "light")
    log_in(page, operator_page_user.username, operator_page_user.password)
    page.goto(pages["status"] if where == ".cell-name" else pages["source"])
    name = page.locator(where, has_text=LONG_KEY[:20]).first
    lines = name.evaluate(RENDERED_LINES)
    assert len(lines) > 1 and "".join(lines).strip() == LONG_KEY, lines
    assert all(line.endswith("_") for line in lines[:-1]), lines  # never mid-word
