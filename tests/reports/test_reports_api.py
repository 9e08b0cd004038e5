"""The report endpoints through their real URLs: tokens and scopes, 404 and 400 with the API's
error body, the HTML form, and a send that is idempotent per date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from alerts.choices import ChannelKind, NotificationEvent
from alerts.models import Notification
from confops.accounts.models import ApiToken
from reports import sending
from reports.models import DailyReport
from tests.alerts import factories as f
from tests.reports.seed import DAY, NOW, seed_day

pytestmark = pytest.mark.django_db


def bearer(*scopes: str) -> dict[str, str]:
    owner, _ = get_user_model().objects.get_or_create(username="report-ci-owner")
    _, raw = ApiToken.issue("ci", list(scopes), owner)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def stored(admin_user: Any) -> None:
    seed_day(admin_user)
    sending.generate(DAY, NOW)


def test_latest_answers_the_summary_and_links(client: Client, stored: None) -> None:
    response = client.get("/api/v1/reports/daily/latest", **bearer("read"))
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == "2026-11-21" and body["sent_at"] is None
    assert body["headline"].startswith("4 of 6 runs succeeded")
    assert body["summary"]["overall"]["sla_percent"] == 80.0
    assert body["links"] == {
        "self": "http://localhost:8000/api/v1/reports/daily/2026-11-21",
        "html": "http://localhost:8000/api/v1/reports/daily/2026-11-21?format=html",
        "page": "http://localhost:8000/reports/2026-11-21/",
    }


def test_format_html_answers_the_report_html(client: Client, stored: None) -> None:
    response = client.get("/api/v1/reports/daily/2026-11-21?format=html", **bearer("read"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b'id="kpi-sla"' in response.content


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        ("/api/v1/reports/daily/2026-11-20", 404, "no daily report for 2026-11-20"),
        ("/api/v1/reports/daily/yesterday", 400, "invalid request (day)"),
        ("/api/v1/reports/daily/2026-11-21?format=pdf", 400, "invalid request (format)"),
    ],
)
def test_bad_requests_get_the_error_body(
    client: Client, stored: None, url: str, status: int, error: str
) -> None:
    response = client.get(url, **bearer("read"))
    assert response.status_code == status
    assert response.json()["error"] == error


def test_latest_is_404_before_any_report(client: Client) -> None:
    response = client.get("/api/v1/reports/daily/latest", **bearer("read"))
    assert response.status_code == 404 and response.json() == {"error": "no daily report yet"}


def test_tokens_are_required_and_sending_needs_operate(client: Client, stored: None) -> None:
    assert client.get("/api/v1/reports/daily/latest").status_code == 401
    assert client.get("/api/v1/reports/daily/latest", **bearer("push")).status_code == 403
    refused = client.post("/api/v1/reports/daily/send", **bearer("read"))
    assert refused.status_code == 403
    assert refused.json() == {"error": "token lacks the 'operate' scope"}


def test_send_twice_writes_the_outbox_rows_once(client: Client, admin_user: Any) -> None:
    seed_day(admin_user)
    f.channel("ops-email", ChannelKind.EMAIL, config={"to": ["ops@example.com"]}, secret="")
    headers = bearer("operate")
    # Every send at NOW, the forced one too: on the real clock it would send a report of a day
    # that, on a clock set before 2026-11-21, has not happened yet.
    with time_machine.travel(NOW, tick=False):
        first = client.post(
            "/api/v1/reports/daily/send", content_type="application/json", **headers
        )
        second = client.post(
            "/api/v1/reports/daily/send", {"date": "2026-11-21"}, "application/json", **headers
        )
        assert Notification.objects.filter(event=NotificationEvent.DAILY_REPORT).count() == 1
        forced = client.post(
            "/api/v1/reports/daily/send", {"date": "2026-11-21", "force": True},
            "application/json", **headers,
        )  # fmt: skip
    assert first.status_code == second.status_code == 200
    assert (first.json()["sent"], first.json()["generated"], first.json()["notifications"]) == (
        True,
        True,
        1,
    )
    assert first.json()["date"] == "2026-11-21"  # yesterday, seen from 2026-11-22 07:00
    assert (second.json()["sent"], second.json()["notifications"]) == (False, 0)
    assert second.json()["detail"].startswith("already sent at")
    assert forced.json()["sent"] is True
    assert forced.json()["report"]["send_round"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2099-01-01"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"force": "maybe"}, "force"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_send_bodies_are_400_with_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/api/v1/reports/daily/send", body, "application/json", **bearer("operate")
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_endpoints_are_in_the_schema(client: Client) -> None:
    paths = client.get("/api/v1/schema").json()["paths"]
    assert {"/api/v1/reports/daily/latest", "/api/v1/reports/daily/{day}"} <= set(paths)
    send = paths["/api/v1/reports/daily/send"]["post"]
    assert {"200", "400", "401", "403"} <= set(send["responses"])
    latest = paths["/api/v1/reports/daily/latest"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/html"} <= set(latest)


@pytest.mark.parametrize("raw", [b"", b"  ", b"{}"])
def test_send_without_a_body_sends_yesterday(client: Client, raw: bytes) -> None:
    with time_machine.travel(NOW, tick=False):
        response = client.generic(
            "POST", "/api/v1/reports/daily/send", raw, "application/json", **bearer("operate")
        )
    assert response.status_code == 200 and response.json()["date"] == "2026-11-21"


@pytest.mark.parametrize("raw", [b"[1]", b"not json", b"\xff\xfe", b'"2026-11-21"'])
def test_send_with_a_body_that_is_not_an_object_is_400(client: Client, raw: bytes) -> None:
    response = client.generic(
        "POST", "/api/v1/reports/daily/send", raw, "application/json", **bearer("operate")
    )
    assert response.status_code == 400 and "fields" in response.json()


def test_a_day_not_over_yet_is_refused_and_the_next_morning_sends_it(
    client: Client, admin_user: Any, settings: Any
) -> None:
    # 2026-11-22 07:00 UTC is still 2026-11-21 (23:00) in Los Angeles: "yesterday" in UTC is
    # today there, and sending it would block the real report of the next morning.
    settings.REPORT_TIME_ZONE = "America/Los_Angeles"
    f.channel("ops-email", ChannelKind.EMAIL, config={"to": ["ops@example.com"]}, secret="")
    headers = bearer("operate")
    with time_machine.travel(NOW, tick=False):
        refused = client.post(
            "/api/v1/reports/daily/send", {"date": "2026-11-21"}, "application/json", **headers
        )
        forced = client.post(
            "/api/v1/reports/daily/send", {"date": "2026-11-21", "force": True},
            "application/json", **headers,
        )  # fmt: skip
    assert refused.status_code == forced.status_code == 400
    assert refused.json()["fields"] == {
        "date": "the day has not ended yet in America/Los_Angeles; "
        "it can be sent from 2026-11-22 00:00"
    }
    assert not Notification.objects.exists() and not DailyReport.objects.exists()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        sent = client.post(
            "/api/v1/reports/daily/send", {"date": "2026-11-21"}, "application/json", **headers
        )
    assert sent.status_code == 200 and sent.json()["sent"] is True
