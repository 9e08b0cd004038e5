"""A run's partition key is shown wherever its run is: the source page's run list, the status
page's timeline, and the daily report (text and HTML, escaped like every value)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.models import Source
from reports.builder import build_report
from reports.data import gather
from reports.render import render_html, render_text
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db


def test_the_run_list_has_a_partition_column_for_a_partitioned_source(
    viewer_user_client: Client,
) -> None:
    orders = f.source("orders", f.deployment())
    f.run(orders, timezone.now() - timedelta(hours=1), ok=False, partition="2026-12-05")
    html = viewer_user_client.get(f"/sources/{orders.slug}/").content.decode()
    assert "<th>Partition</th>" in html and "<td>2026-12-05</td>" in html


def test_the_run_list_of_an_unpartitioned_source_has_no_partition_column(
    viewer_user_client: Client,
) -> None:
    elra = f.source("elra", f.deployment())
    f.run(elra, timezone.now() - timedelta(hours=1))
    assert (
        "<th>Partition</th>"
        not in viewer_user_client.get(f"/sources/{elra.slug}/").content.decode()
    )


def test_the_timeline_bar_names_the_runs_partition(viewer_user_client: Client) -> None:
    orders = f.source("orders", f.deployment())
    f.run(orders, timezone.now() - timedelta(hours=1), ok=False, partition="2026-12-<05>")
    html = viewer_user_client.get("/").content.decode()
    assert "Failed: partition 2026-12-&lt;05&gt;, started" in html


def test_the_daily_report_names_a_failed_runs_partition() -> None:
    ended = timezone.now() - timedelta(days=1)
    orders = f.source("orders", f.deployment())
    f.run(orders, ended, ok=False, partition="2026-11-<20>")
    Source.objects.filter(pk=orders.pk).update(first_seen_at=ended - timedelta(days=2))
    day = ended.date()
    summary = build_report(gather(day, "UTC"), timezone.now()).to_json()
    [line] = [s for s in summary["sources"] if s["key"] == "orders"]
    assert line["failures"][0]["partition"] == "2026-11-<20>"
    assert "(partition 2026-11-<20>)" in render_text(summary)
    assert "partition 2026-11-&lt;20&gt;" in render_html(summary, email=True)
