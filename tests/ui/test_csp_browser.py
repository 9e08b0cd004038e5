"""In a real browser, under the Content-Security-Policy: the status page refreshes, an htmx action
changes a row in place, the admin's forms run their scripts and the API docs render, with no
violation reported; an image from another host is refused."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Alert
from tests.alerts import factories as f
from tests.alerts.incidents import incident
from tests.fixtures.browser import log_in
from tests.fixtures.personas import ADA, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
API_DOCS_WAIT_MS = 30_000  # /api/v1/docs only: everything else keeps the 10 s default

# Listens before any page script runs (Playwright injects it outside the page's policy).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def watched(page: Any) -> list[str]:
    """The console's CSP complaints of every page this tab opens, appended as they come."""
    complaints: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            complaints.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return complaints


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__violations"))


@pytest.fixture
def firing() -> Alert:
    return incident("Run failed", f.source("elra_conferences", f.deployment()), summary="HTTP 503")


def test_pages_an_htmx_action_and_the_admin_raise_no_violation(
    page: Any, settings: Any, firing: Alert
) -> None:
    settings.STATUS_REFRESH_SECONDS = 1
    make_user(ADA)
    complaints = watched(page)
    log_in(page, ADA.username, ADA.password)

    page.goto("/")
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        pass  # the grid refreshes itself through htmx
    assert violations(page) == []

    page.goto("/alerts/")
    row = page.locator(f"#alert-{firing.pk}")
    row.locator("input[name=note]").fill("on it")
    row.get_by_role("button", name="Acknowledge").click()
    page.locator(f"#alert-{firing.pk}").get_by_text("Acknowledged by ada-admin").wait_for()
    assert violations(page) == []

    page.goto("/admin/django_celery_beat/periodictask/add/")
    page.select_option("#id_crontab", index=1)
    page.locator(".field-crontab .help").get_by_text("Translation:").wait_for()
    assert violations(page) == []
    page.goto("/admin/alerts/channel/add/")
    page.locator("#channel_form").wait_for()
    assert violations(page) == []
    page.goto("/api/v1/docs")
    # The docs page builds the OpenAPI schema first (~1.5 s, far longer on a loaded machine).
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=API_DOCS_WAIT_MS)
    assert violations(page) == []

    assert complaints == []


def test_an_image_from_another_host_is_refused(page: Any) -> None:
    make_user(ADA)
    watched(page)
    log_in(page, ADA.username, ADA.password)
    page.goto("/runbooks/")
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation',
                                      (e) => resolve([e.effectiveDirective, e.blockedURI]));
            setTimeout(() => resolve(null), 5000);  // loaded, or refused without a report
            const pixel = document.createElement('img');
            pixel.src = 'http://tracker.example/pixel.gif';
            document.body.appendChild(pixel);
        })"""
    )
    assert blocked == ["img-src", "http://tracker.example/pixel.gif"]
