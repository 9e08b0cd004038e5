"""The report pages: the latest report and the archive by date, for viewers only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from reports import sending
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
