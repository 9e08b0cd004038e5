"""Today's report so far: built by an admin (page or command), marked partial, never sent, and
replaced by the full report when the daily task runs after the day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from alerts.choices import ChannelKind
from alerts.models import Notification
from reports import sending
from reports.models import DailyReport
from reports.tasks import send_daily_report
from tests.alerts import factories as f
from tests.reports.seed import DAY, seed_day

pytestmark = pytest.mark.django_db

MIDDAY = datetime(2026, 11, 21, 12, 40, tzinfo=UTC)  # DAY, under way
NEXT_MORNING = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)  # beat's run for DAY


def test_a_viewer_sees_no_build_button_and_cannot_build(viewer_user_client: Client) -> None:
    assert b"Build today" not in viewer_user_client.get("/reports/").content
    assert viewer_user_client.post("/reports/build-so-far/").status_code == 403
    assert not DailyReport.objects.exists()


def test_an_operator_cannot_build_either(operator_client: Client) -> None:
    """Reports belong to the Admin role (its ``reports`` permissions): the issue says admins."""
    assert b"Build today" not in operator_client.get("/reports/").content
    assert operator_client.post("/reports/build-so-far/").status_code == 403


def test_an_admin_builds_today_so_far_and_sees_it_marked_partial(
    admin_persona_client: Client, admin_user: Any
) -> None:
    seed_day(admin_user)
    with time_machine.travel(MIDDAY, tick=False):
        empty = admin_persona_client.get("/reports/").content.decode()
        assert "No report yet." in empty and "Build today's report so far" in empty
        response = admin_persona_client.post("/reports/build-so-far/")
        assert response.status_code == 303 and response["Location"] == "/reports/2026-11-21/"
        html = admin_persona_client.get(response["Location"]).content.decode()
    assert "<strong>So far</strong>: built at 12:40 UTC" in html
    report = DailyReport.objects.get(date=DAY)
    assert report.is_partial and report.summary["window_end"] == MIDDAY.isoformat()


def test_an_htmx_build_sends_the_whole_page_to_the_report(admin_persona_client: Client) -> None:
    with time_machine.travel(MIDDAY, tick=False):
        response = admin_persona_client.post(
            "/reports/build-so-far/", headers={"HX-Request": "true"}
        )
    assert response.status_code == 204 and response["HX-Redirect"] == "/reports/2026-11-21/"


def test_the_page_says_when_the_next_report_is_due(viewer_user_client: Client) -> None:
    with time_machine.travel(MIDDAY, tick=False):
        html = viewer_user_client.get("/reports/").content.decode()
    assert "Next report due: 2026-11-22 07:00 UTC (in 18 h 20 min)" in html


def test_the_so_far_report_cannot_be_sent_and_the_daily_task_replaces_it(
    admin_user: Any,
) -> None:
    seed_day(admin_user)
    f.channel("ops-email", ChannelKind.EMAIL, config={"to": ["ops@example.com"]}, secret="")
    partial = sending.build_so_far(MIDDAY)
    with pytest.raises(sending.DayNotOver):
        sending.send(DAY, MIDDAY)
    with time_machine.travel(NEXT_MORNING, tick=False):
        assert send_daily_report() == "sent"
    full = DailyReport.objects.get(pk=partial.pk)
    assert not full.is_partial and full.generated_at == NEXT_MORNING
    assert full.summary["window_end"] == "2026-11-22T00:00:00+00:00"
    assert Notification.objects.count() == 1


def test_the_command_builds_the_same_so_far_report(admin_user: Any, capsys: Any) -> None:
    seed_day(admin_user)
    with time_machine.travel(MIDDAY, tick=False):
        call_command("daily_report", "--so-far")
    assert capsys.readouterr().out.startswith("2026-11-21 so far: ")
    assert DailyReport.objects.get(date=DAY).is_partial
