"""A pass over every open incident (the reminder pass, the replay's next due time) reads their
members and their sources' typical intervals in a fixed number of queries: the batched reads
must give what the per-incident ones give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.engine import incidents
from monitoring.models import RunAsset
from tests.alerts import factories as f

START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_typical_intervals_of_many_sources_are_each_ones_typical_interval() -> None:
    dep = f.deployment()
    hourly, daily, few, irregular, silent = (
        f.source(key, dep) for key in ("hourly", "daily", "few", "irregular", "silent")
    )
    for index in range(30):
        f.run(hourly, START + timedelta(hours=index))
        f.run(daily, START + timedelta(days=index), ok=index % 4 != 0)
    for index in range(2):
        f.run(few, START + timedelta(hours=index))
    for index, hours in enumerate([0, 1, 1, 5, 6, 30, 31, 31, 33, 40, 70, 71]):
        f.run(irregular, START + timedelta(hours=hours, minutes=index))
    # Two runs of one moment (a tie) and an undated link.
    tie = f.run(hourly, START + timedelta(hours=29))
    RunAsset.objects.filter(run=tie).update(run_created_at=None)
    ids = [hourly.pk, daily.pk, few.pk, irregular.pk, silent.pk, None]

    with CaptureQueriesContext(connection) as queries:
        batched = incidents.typical_intervals(ids)
    expected = {
        pk: interval for pk in ids if (interval := incidents.typical_interval(pk)) is not None
    }

    assert batched == expected
    assert batched[hourly.pk] == timedelta(hours=1)
    assert batched[daily.pk] == timedelta(days=1)
    assert few.pk not in batched and silent.pk not in batched  # too few runs
    assert len(queries) <= 2  # the bounds, then the ranked links: not one per source
