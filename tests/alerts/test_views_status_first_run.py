"""A source that never ran says on the status page when its first scheduled run is due."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from monitoring.models import Deployment, Instigator
from tests.alerts.factories import deployment, source
from tests.alerts.pages import cell_html, cell_state

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 10, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def dep() -> Deployment:
    return deployment("confradar", last_success_at=NOW)


def schedule(dep: Deployment, name: str, cron: str, status: str = "RUNNING") -> Instigator:
    return Instigator.objects.create(
        deployment=dep,
        kind="schedule",
        name=name,
        code_location="confradar",
        repository="__repository__",
        cron=cron,
        timezone="UTC",
        status=status,
    )


def test_it_says_when_the_first_run_is_due(viewer_user_client: Client, dep: Deployment) -> None:
    schedule(dep, "daily_crawl_schedule", "0 2 * * *")
    schedule(dep, "demo_crawl_schedule", "*/2 * * * *")
    fresh = source(
        "elra_conferences", dep, schedule_names=["daily_crawl_schedule", "demo_crawl_schedule"]
    )

    html = viewer_user_client.get("/").content.decode()

    assert cell_state(html, fresh.slug) == "unknown"
    assert "never run; next scheduled run in 1 min" in cell_html(html, fresh.slug)


def test_a_stopped_schedule_promises_nothing(viewer_user_client: Client, dep: Deployment) -> None:
    schedule(dep, "demo_crawl_schedule", "*/2 * * * *", status="STOPPED")
    fresh = source("elra_conferences", dep, schedule_names=["demo_crawl_schedule"])

    cell = cell_html(viewer_user_client.get("/").content.decode(), fresh.slug)

    assert "never run" in cell and "next scheduled run" not in cell


def test_a_pushed_source_uses_its_expected_cron(viewer_user_client: Client) -> None:
    pushed = source("nightly_export", None, expected_cron="0 2 * * *")

    cell = cell_html(viewer_user_client.get("/").content.decode(), pushed.slug)

    assert "never run; next scheduled run in 15 h" in cell
