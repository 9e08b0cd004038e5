"""Accessibility in Debian's Chromium: Deque's axe-core (bundled by axe-playwright-python, so
nothing is fetched at test time) finds no serious or critical violation on the pages an on-call
person uses, in the light and the dark colour scheme; every page has one <h1>, and the first tab
stop is a skip link that moves focus to the content."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.urls import Resolver404, resolve
from django.utils import timezone

from alerts.models import AlertRule, Silence
from reports import sending
from tests.alerts import factories as f
from tests.alerts.incidents import incident_of
from tests.alerts.pages import open_alert
from tests.fixtures.browser import ARTIFACTS, log_in, opened_page
from tests.fixtures.personas import ADA, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# WCAG 2.0/2.1 A and AA, WCAG 2.2 AA (target-size: a link or button is 24 x 24 px or spaced as
# if it were, 2.5.8) plus axe's best practices (landmarks, regions); the check fails on the two
# impacts that stop someone from using the page.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
# Django's own admin widget (filter_horizontal's search icon carries aria-label on a <span>),
# checked only while the rule page is the admin's.
NOT_OURS = {"exclude": [[".search-label-icon"]]}
BLOCKING = {"serious", "critical"}
RUNBOOK = "scraper-failure"  # written by the alerts app's data migration


@dataclass(frozen=True)
class Seeded:
    """The URLs of a demo in trouble: one failing source, its incident, a silence, a report."""

    checked: dict[str, str]  # name -> URL, the pages the issue asks axe to check
    others: dict[str, str]  # further portal pages that only need their one <h1>


@pytest.fixture
def seeded(transactional_db: None) -> Seeded:
    now = timezone.now()
    user = make_user(ADA)
    dep = f.deployment("confradar-local", last_success_at=now, ui_url="http://127.0.0.1:3000")
    calm = f.source("wikicfp_conferences", dep)
    f.run(calm, now - timedelta(hours=2), metrics={"count": 420})
    elra = f.source("elra_conferences", dep)
    f.run(elra, now - timedelta(hours=8), metrics={"count": 57})
    f.run(elra, now - timedelta(hours=1), ok=False, error="HTTP 503 from elra.info")
    failed = open_alert(elra, now=now, rule_name="elra run failed", kind="run_failed")
    twice = open_alert(elra, now=now, rule_name="elra failed twice", kind="consecutive_failures")
    outage = incident_of("elra_conferences: run failed", failed, twice, severity="critical")
    Silence.objects.create(
        source=calm, starts_at=now, ends_at=now + timedelta(hours=4),
        comment="Maintenance of the wikicfp scraper", created_by=user,
    )  # fmt: skip
    sending.generate(timezone.localdate() - timedelta(days=1), now, backtests=False)
    checked = {
        "status": "/",
        "source": f"/sources/{elra.slug}/",
        "alerts": "/alerts/",
        "alert": f"/alerts/{failed.pk}/",
        "incident": f"/incidents/{outage.pk}/",
        "silences": "/silences/",
        "runbook": f"/runbooks/{RUNBOOK}/",
        "rule": rule_page(failed.rule),
        "reports": "/reports/",
    }
    others = {
        "silence form": "/silences/new/",
        "runbooks": "/runbooks/",
        "runbook edit": f"/runbooks/{RUNBOOK}/edit/",
        "runbook history": f"/runbooks/{RUNBOOK}/history/",
    }
    return Seeded(checked, others)


def rule_page(rule: AlertRule) -> str:
    """The portal's rule page (issue 18's typed thresholds) where it is routed, else the admin's."""
    try:
        resolve(f"/rules/{rule.pk}/")
    except Resolver404:
        return f"/admin/alerts/alertrule/{rule.pk}/change/"
    return f"/rules/{rule.pk}/"


@pytest.fixture(params=["light", "dark"])
def themed_page(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page whose browser prefers the light or the dark colour scheme."""
    viewport = {"width": 1280, "height": 800}
    with opened_page(browser, live_server, viewport=viewport, color_scheme=request.param) as opened:
        yield opened


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page as shown.

    ``evaluate`` runs under Playwright's own privileges, so the portal's Content-Security-Policy
    (no inline script) needs no loosening for the check."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    context = NOT_OURS if "/admin/" in page.url else {"include": [["html"]]}
    results = page.evaluate("([c, o]) => axe.run(c, o)", [context, AXE_OPTIONS])
    return [found for found in results["violations"] if found["impact"] in BLOCKING]


def described(name: str, found: list[dict[str, Any]]) -> list[str]:
    lines = []
    for violation in found:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        lines.append(f"{name}: {violation['id']} ({violation['impact']}) {violation['help']}")
        lines.extend(f"    {target}" for target in targets)
    return lines


def keep_screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    scheme = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    path = ARTIFACTS / f"a11y_{slug}_{'dark' if scheme else 'light'}.png"
    page.screenshot(path=str(path), full_page=True)


def test_axe_finds_no_serious_or_critical_violation(themed_page: Any, seeded: Seeded) -> None:
    page = themed_page
    log_in(page, ADA.username, ADA.password)
    report: list[str] = []
    for name, url in seeded.checked.items():
        page.goto(url)
        page.locator("h1").first.wait_for()
        report += described(f"{name} {url}", violations(page))
        keep_screenshot(page, name)
    assert not report, "\n".join(report)


def test_every_portal_page_has_exactly_one_h1(page: Any, seeded: Seeded) -> None:
    page.goto("/accounts/login/")
    assert page.locator("h1").count() == 1, "login"
    log_in(page, ADA.username, ADA.password)
    for name, url in (seeded.checked | seeded.others).items():
        if url.startswith("/admin/"):
            continue  # Django's admin, not the portal's templates
        page.goto(url)
        assert page.locator("h1").count() == 1, f"{name} {url}"


def test_the_first_tab_stop_skips_to_the_content(page: Any, seeded: Seeded) -> None:
    log_in(page, ADA.username, ADA.password)
    page.goto(seeded.checked["alerts"])
    skip = page.locator("a.skip-link")
    assert not in_view(skip)  # out of the way until a keyboard reaches it

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    assert skip.inner_text() == "Skip to content"
    assert in_view(skip)

    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'content'")
    page.keyboard.press("Tab")  # the next stop is inside the content, past the navigation
    assert page.evaluate("document.getElementById('content').contains(document.activeElement)")


def in_view(locator: Any) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] + box["height"] > 0
