"""The hot queries read their indexes, not whole tables: EXPLAIN on 50,000 runs generated in SQL
(benchmarks/storage.py measures the same queries at millions; docs/storage.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from benchmarks.storage import (
    captured_selects,
    explain,
    fill,
    hot_queries,
    indexes_used,
    sequential_scans,
)
from monitoring.choices import SourceKind
from monitoring.models import Deployment, Source

# Each query and an index it must use (Django's own names where the index has no name of ours).
EXPECTED = {
    "evaluation: latest runs of 100 sources": "run_asset_latest",
    "evaluation: unfinished runs (stuck-run rule)": "run_unfinished",
    "status: 24 h timeline of 100 sources": "run_asset_",
    "poll: runs awaiting details": "monitoring__deploym_",
    "poll: stored runs of 100 updated": "run_unique_per_deployment",
    "prune: 5,000 candidate runs": "run_created",
    "prune: 5,000 candidate events": "asset_event_time",
}


@pytest.fixture(scope="module")
def history(django_db_setup: None, django_db_blocker: Any) -> Iterator[datetime]:
    """50,000 runs over 91 days (1 % past the 90 days' retention), 1,000 sources, analysed."""
    now = timezone.now()
    with django_db_blocker.unblock():
        deployments = Deployment.objects.bulk_create(
            Deployment(name=f"plans-{d}", graphql_url=f"http://plans-{d}/graphql")
            for d in range(10)
        )
        sources = Source.objects.bulk_create(
            Source(
                deployment=deployments[k % 10], kind=SourceKind.ASSET, key=f"p{k}", slug=f"p-{k}"
            )
            for k in range(1000)
        )
        with connection.cursor() as cursor:
            fill(cursor, 50_000, [d.pk for d in deployments], [s.pk for s in sources], 91, now)
            cursor.execute("ANALYZE")
    yield now
    with django_db_blocker.unblock():
        Deployment.objects.filter(pk__in=[d.pk for d in deployments]).delete()
        Source.objects.filter(pk__in=[s.pk for s in sources]).delete()


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_hot_query_seeks_its_index(history: datetime, name: str) -> None:
    assert connection.vendor == "postgresql"
    action = hot_queries(history, retention_days=90)[name]
    selects = captured_selects(action)
    assert selects, f"{name} sent no query"
    with connection.cursor() as cursor:
        plans = [explain(cursor, sql, analyze=False) for sql in selects]
    used = set().union(*(indexes_used(plan) for plan in plans))
    assert any(index.startswith(EXPECTED[name]) for index in used), (name, used)
    assert not set().union(*(sequential_scans(plan) for plan in plans)), name
