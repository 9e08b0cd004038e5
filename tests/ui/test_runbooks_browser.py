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
