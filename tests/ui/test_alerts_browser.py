"""In a real browser: an operator acknowledges and silences alerts and the rows change in place;
a viewer has no buttons and a forged request is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from alerts.choices import AlertEventKind, AlertState
from alerts.models import Alert, Silence
from tests.alerts import factories as f
from tests.alerts.incidents import incident
from tests.fixtures.personas import OTTO, Persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_alerts() -> tuple[Alert, Alert]:
    dep = f.deployment()
    elra = incident(
        "Run failed", f.source("elra_conferences", dep), summary="elra failed: HTTP 503"
    )
    wikicfp = incident(
        "Run failed", f.source("wikicfp_conferences", dep), summary="wikicfp failed: HTTP 429"
    )
    return elra, wikicfp


def mark_page(page: Any) -> None:
    """A flag on window that a reload would wipe out."""
    page.evaluate("window.__notReloaded = true")


def still_same_page(page: Any) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_an_operator_acknowledges_one_alert_and_silences_another_in_place(
    operator_page: Any, two_alerts: tuple[Alert, Alert]
) -> None:
    page = operator_page
    elra, wikicfp = two_alerts
    page.goto("/alerts/")
    mark_page(page)
    # Only the X-CSRFToken header that base.html's hx-headers adds is left to carry the token.
    page.evaluate(
        "document.querySelectorAll('input[name=csrfmiddlewaretoken]').forEach(e => e.remove())"
    )
    assert page.locator("#alert-counters").inner_text().startswith("2 firing")

    row = page.locator(f"#alert-{elra.pk}")
    row.locator("input[name=note]").fill("looking at elra")
    row.get_by_role("button", name="Acknowledge").click()
    row = page.locator(f"#alert-{elra.pk}")
    row.get_by_text("Acknowledged by otto-operator").wait_for()
    assert "looking at elra" in row.inner_text()
    assert row.get_by_role("button", name="Unacknowledge").is_visible()
    page.locator("#alert-counters").get_by_text("1 firing").wait_for()

    other = page.locator(f"#alert-{wikicfp.pk}")
    other.get_by_role("button", name="4 h", exact=True).click()
    other = page.locator(f"#alert-{wikicfp.pk}")
    other.get_by_text("Silenced for 4 h").wait_for()
    assert "Silenced until" in other.inner_text()
    assert other.get_by_role("button", name="4 h", exact=True).count() == 0
    page.locator("#alert-counters").get_by_text("1 held back").wait_for()

    assert still_same_page(page), "the page reloaded"
    elra.refresh_from_db()
    wikicfp.refresh_from_db()
    assert elra.state == AlertState.ACKNOWLEDGED and elra.acknowledged_by.username == OTTO.username
    assert wikicfp.silenced_by == Silence.objects.get()
    assert wikicfp.events.get().kind == AlertEventKind.SILENCED


def test_resolving_asks_first_then_updates_the_row(
    operator_page: Any, two_alerts: tuple[Alert, Alert]
) -> None:
    page = operator_page
    elra, _ = two_alerts
    page.goto("/alerts/")
    mark_page(page)
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.accept()))
    page.locator(f"#alert-{elra.pk}").get_by_role("button", name="Resolve").click()
    page.locator(f"#alert-{elra.pk}").get_by_text("Resolved by hand").first.wait_for()
    assert seen and "Resolve this alert by hand?" in seen[0]
    assert still_same_page(page)
    elra.refresh_from_db()
    assert elra.state == AlertState.RESOLVED


def test_a_viewer_has_no_buttons_and_a_forged_post_is_refused(
    viewer_page: Any, two_alerts: tuple[Alert, Alert]
) -> None:
    page = viewer_page
    elra, _ = two_alerts
    page.goto("/alerts/")
    row = page.locator(f"#alert-{elra.pk}")
    assert "elra failed: HTTP 503" in row.inner_text()
    assert row.locator("button").count() == 0
    assert page.locator("form[action*='acknowledge']").count() == 0
    forged = page.evaluate(
        """async (url) => {
            const headers = JSON.parse(document.body.getAttribute('hx-headers'));
            const withToken = await fetch(url, {method: 'POST', headers: headers,
                                                body: new URLSearchParams({note: 'forged'})});
            const withoutToken = await fetch(url, {method: 'POST',
                                                   body: new URLSearchParams({note: 'forged'})});
            return [withToken.status, withoutToken.status];
        }""",
        f"/alerts/{elra.pk}/acknowledge/",
    )
    assert forged == [403, 403]  # no permission; and no CSRF token at all
    elra.refresh_from_db()
    assert elra.state == AlertState.FIRING and not elra.events.exists()


def test_filters_change_the_lists_without_a_reload(
    viewer_page: Any, two_alerts: tuple[Alert, Alert]
) -> None:
    page = viewer_page
    elra, wikicfp = two_alerts
    wikicfp.severity = "critical"
    wikicfp.save()
    page.goto("/alerts/")
    mark_page(page)
    page.select_option("#id_severity", "critical")
    page.wait_for_url(re.compile(r"severity=critical"))
    page.locator(f"#alert-{elra.pk}").wait_for(state="detached")
    assert page.locator(f"#alert-{wikicfp.pk}").is_visible()
    assert still_same_page(page)


def test_the_alerts_page_reads_well_on_a_phone(
    page: Any, operator_page_user: Persona, two_alerts: tuple[Alert, Alert]
) -> None:
    from tests.fixtures.browser import log_in

    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, operator_page_user.username, operator_page_user.password)
    page.goto("/alerts/")
    elra, _ = two_alerts
    box = page.locator(f"#alert-{elra.pk}").bounding_box()
    assert box is not None and box["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways ({width}px)"
