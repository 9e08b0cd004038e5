"""A run's partition key is shown wherever its run is: the status page's timeline (escaped)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.alerts import factories as f

pytestmark = pytest.mark.django_db


def test_the_timeline_bar_names_the_runs_partition(viewer_user_client: Client) -> None:
    orders = f.source("orders", f.deployment())
    f.run(orders, timezone.now() - timedelta(hours=1), ok=False, partition="2026-12-<05>")
    html = viewer_user_client.get("/").content.decode()
    assert "Failed: partition 2026-12-&lt;05&gt;, started" in html
