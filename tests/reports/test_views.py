"""The report pages: the latest report and the archive by date, for viewers only."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from reports import sending
from reports.models import DailyReport
from tests.reports.seed import DAY, NOW, seed_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(admin_user: Any) -> None:
    seed_day(admin_user)
    sending.generate(DAY, NOW)


def test_a_viewer_reads_the_latest_report_with_the_archive(
    viewer_user_client: Client, stored: None
) -> None:
    page = viewer_user_client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "4 of 6 runs succeeded" in html and 'id="kpi-sla"' in html
    assert 'href="/reports/2026-11-21/" aria-current="page"' in html
    assert '<a href="/reports/">Reports</a>' in html  # the top bar links here
    assert "HTTP 503 &lt;b&gt;from&lt;/b&gt; beta.example" in html


def test_a_day_of_the_archive_has_its_own_page(viewer_user_client: Client, stored: None) -> None:
    assert viewer_user_client.get("/reports/2026-11-21/").status_code == 200
    assert viewer_user_client.get("/reports/2026-11-20/").status_code == 404
    assert viewer_user_client.get("/reports/not-a-day/").status_code == 404


def test_without_any_report_the_page_says_how_to_get_one(viewer_user_client: Client) -> None:
    page = viewer_user_client.get("/reports/")
    assert page.status_code == 200 and b"No report yet" in page.content


def test_an_outsider_is_refused_and_a_stranger_sent_to_log_in(
    outsider_client: Client, client: Client, stored: None
) -> None:
    assert outsider_client.get("/reports/").status_code == 403
    response = client.get("/reports/2026-11-21/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_admin_role_manages_the_distribution(admin_persona_client: Client) -> None:
    page = admin_persona_client.get("/admin/reports/reportdistribution/add/")
    assert page.status_code == 200 and b"email_to" in page.content


def test_the_page_shows_the_suggestions_judged_when_the_report_was_built(
    viewer_user_client: Client, stored: None
) -> None:
    """Opening the page runs no backtest: it reads what the report's build judged (a rule of
    that name no longer exists, and a backtest would fail the request)."""
    report = DailyReport.objects.get(date=DAY)
    report.summary["quality"]["suggestions"] = [
        {"rule": "Judged at build time", "kind": "stale", "parameter": "max_age_hours",
         "current": 24.0, "suggested": 36.0, "days": 7, "fired_now": 5, "fired_suggested": 1,
         "incidents": 0}
    ]  # fmt: skip
    report.save(update_fields=["summary"])
    refuse = AssertionError("a backtest inside a web request")
    with mock.patch("reports.suggestions.backtest", side_effect=refuse):
        html = viewer_user_client.get("/reports/").content.decode()
    assert "Judged at build time</strong>: max_age_hours 24 → 36" in html
