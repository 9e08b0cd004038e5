"""Day one on the reports page, in Debian's Chromium: nothing built yet, an admin presses
"Build today's report so far" and reads today's report, marked as built so far."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from reports import sending
from tests.alerts.factories import deployment, run, source
from tests.fixtures.browser import log_in
from tests.fixtures.personas import ADA, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_builds_todays_report_so_far_and_reads_it(page: Any) -> None:
    make_user(ADA)
    crawl = source("elra_conferences", deployment("confradar-local"))
    run(crawl, timezone.now() - timedelta(minutes=5), metrics={"count": 57})
    log_in(page, ADA.username, ADA.password)
    page.goto("/reports/")
    assert page.get_by_text("No report yet.").is_visible()
    assert page.locator("#report-next-due").inner_text().startswith("Next report due: ")
    page.get_by_role("button", name="Build today's report so far").click()
    today = sending.today(timezone.now()).isoformat()
    page.wait_for_url(re.compile(rf"/reports/{today}/$"))
    assert page.locator("#report-so-far").inner_text().startswith("So far: built at ")
    assert page.locator("#report-title").inner_text() == today
    assert page.locator("#report-archive a[aria-current=page]").count() == 1
