"""In a real browser: an operator edits a runbook with a live preview; a page carrying a script
and an onerror handler renders inert (no dialog, no script element, nothing run)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Runbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = """## Restart the scraper

<script>window.__pwned = 'script'; alert('script ran')</script>
<img src="/nothing.png" onerror="window.__pwned = 'onerror'; alert('onerror ran')">
[click me](javascript:window.__pwned='link';alert('link ran'))
<a href="javascript:window.__pwned='anchor'">anchor</a>

1. Clear the fault: `python -m confradar.faults clear elra_conferences`
"""


def watch_dialogs(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def test_an_edit_with_a_script_and_onerror_renders_inert(operator_page: Any) -> None:
    page = operator_page
    dialogs = watch_dialogs(page)
    page.goto("/runbooks/scraper-failure/edit/")
    page.fill("#id_body", HOSTILE)
    preview = page.locator("#runbook-preview")
    preview.get_by_role("heading", name="Restart the scraper").wait_for()  # live, via htmx
    assert preview.locator("script").count() == 0
    page.fill("#id_summary", "restart steps")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/runbooks/scraper-failure/")

    content = page.locator("#runbook-content")
    content.get_by_role("heading", name="Restart the scraper").wait_for()
    assert content.locator("script").count() == 0
    assert content.locator("[onerror], [onclick], [onload]").count() == 0
    assert content.locator("a[href^='javascript' i]").count() == 0
    for link in content.locator("a").all():  # click what is left: nothing may run
        link.click(modifiers=["Control"], no_wait_after=True)
    page.wait_for_timeout(300)  # give a broken image's onerror its chance
    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert "confradar.faults clear elra_conferences" in content.inner_text()
    assert Runbook.objects.get(slug="scraper-failure").revisions.count() == 2


def test_the_history_shows_the_edit_as_a_diff(operator_page: Any) -> None:
    page = operator_page
    dialogs = watch_dialogs(page)
    page.goto("/runbooks/volume-drop/edit/")
    page.fill("#id_body", "<b onmouseover=alert(1)>Look</b> at the numbers\n")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/runbooks/volume-drop/")
    page.get_by_role("link", name="History").click()
    page.get_by_role("link", name="#2").click()
    added = page.locator(".diff-add")
    assert added.first.inner_text() == "+<b onmouseover=alert(1)>Look</b> at the numbers"
    assert page.locator(".diff b").count() == 0  # shown as text, never as markup
    added.first.hover()
    assert dialogs == []


def whole_runbook_page(page: Any) -> bool:
    """The page's heading, search box and navigation are there, not only the results list."""
    return (
        page.get_by_role("heading", name="Runbooks", exact=True).is_visible()
        and page.locator("#runbook-q").is_visible()
        and page.locator("header.topbar").is_visible()
    )


def search(page: Any, words: str) -> None:
    page.fill("#runbook-q", words)
    page.wait_for_url(f"**/runbooks/?q={words}")  # htmx pushed the search into the history


def test_back_to_a_search_after_leaving_shows_the_whole_page(viewer_page: Any) -> None:
    page = viewer_page
    page.goto("/runbooks/")
    search(page, "Retry-After")
    page.get_by_role("link", name="Run failure").click()
    page.wait_for_url("**/runbooks/scraper-failure/")
    page.go_back()
    page.wait_for_url("**/runbooks/?q=Retry-After")
    page.locator("#runbook-results").get_by_role("link", name="Run failure").wait_for()
    assert whole_runbook_page(page)
    assert page.input_value("#runbook-q") == "Retry-After"


def test_back_through_searches_htmx_no_longer_holds_shows_the_whole_page(viewer_page: Any) -> None:
    """When htmx's own copy of the earlier page is gone, it asks the server for it (a history
    restore) and puts the answer in place of the whole body: that answer must be the page."""
    page = viewer_page
    page.goto("/runbooks/")
    search(page, "stale")
    search(page, "Retry-After")
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")  # htmx 2's copy
    with page.expect_request(lambda r: "hx-history-restore-request" in r.headers):
        page.go_back()
    page.wait_for_url("**/runbooks/?q=stale")
    page.locator("#runbook-results").get_by_role("link", name="Stale source").wait_for()
    assert whole_runbook_page(page)
