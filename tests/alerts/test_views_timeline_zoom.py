"""The status page's timeline zoom (1 h, 6 h, 24 h, 7 d kept in ``?window=``), its "now" line,
run details that a tap opens, and a failed source's count labelled as its last success's
(issue 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.models import Deployment
from tests.alerts.factories import deployment, run, source
from tests.alerts.pages import cell_html

pytestmark = pytest.mark.django_db


@pytest.fixture
def dep() -> Deployment:
    return deployment("confradar", last_success_at=timezone.now(), ui_url="http://dagster:3000")


@pytest.mark.parametrize(
    ("query", "title", "bars"),
    [
        ("?window=1h", "the last hour", 1),
        ("?window=6h", "the last 6 hours", 2),
        ("", "the last 24 hours", 3),
    ],
)
def test_each_zoom_shows_the_runs_of_its_window(
    viewer_user_client: Client, dep: Deployment, query: str, title: str, bars: int
) -> None:
    src = source("elra", dep)
    now = timezone.now()
    for hours in (0.5, 3, 12):
        run(src, now - timedelta(hours=hours), duration_s=60)

    html = viewer_user_client.get(f"/{query}").content.decode()

    assert f"Runs in {title}" in html
    assert html.count("bar bar-ok") == bars
    window = query.removeprefix("?window=") or "24h"
    assert f'value="{window}" checked' in html  # the zoom survives a refresh: it is the URL


def test_the_zoom_is_kept_by_the_other_filters_links(
    viewer_user_client: Client, dep: Deployment
) -> None:
    source("elra", dep, group_name="scrapers")
    html = viewer_user_client.get("/?group=scrapers&window=6h").content.decode()
    assert 'href="/?window=6h"' in html  # "Clear filters" keeps the zoom


def test_the_now_line_ends_the_timeline(viewer_user_client: Client, dep: Deployment) -> None:
    source("elra", dep)
    html = viewer_user_client.get("/?window=1h").content.decode()
    assert 'class="tl-now-line"' in html
    assert f'id="timeline-now">now {timezone.localtime():%H:}' in html


def test_every_run_can_be_focused_by_a_tap_and_failures_are_tab_stops(
    viewer_user_client: Client, dep: Deployment
) -> None:
    src = source("elra", dep)
    now = timezone.now()
    run(src, now - timedelta(hours=20))
    run(src, now - timedelta(hours=2), ok=False, error="HTTP 503 from elra.info")

    html = viewer_user_client.get("/").content.decode()

    assert 'class="bar bar-ok" tabindex="-1"' in html  # a tap focuses it, Tab skips it
    assert 'class="bar bar-failed tip-left" id=' in html and 'tabindex="0"' in html
    assert "confops/timeline.js" in html


def test_a_failed_sources_count_says_it_is_the_last_successs(
    viewer_user_client: Client, dep: Deployment
) -> None:
    src = source("elra", dep)
    now = timezone.now()
    run(src, now - timedelta(hours=3), metrics={"count": 1234})
    run(src, now - timedelta(minutes=30), ok=False, error="HTTP 503")
    src.refresh_from_db()
    healthy = source("acl", dep)
    run(healthy, now - timedelta(hours=1), metrics={"count": 87})

    failed_cell = cell_html(viewer_user_client.get("/").content.decode(), src.slug)
    healthy_cell = cell_html(viewer_user_client.get("/").content.decode(), healthy.slug)

    assert "<dd>1,234 (last success 3 h ago)</dd>" in failed_cell
    assert "<dd>87</dd>" in healthy_cell
