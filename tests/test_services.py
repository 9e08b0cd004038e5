"""The production servers, exercised where this run uses them (the PostgreSQL/Redis pass)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from monitoring.models import Deployment


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_skips_rows_another_transaction_locked() -> None:
    """Outbox workers will claim rows this way; SQLite cannot, PostgreSQL must."""
    from django.db import connections

    first = Deployment.objects.create(name="a", graphql_url="http://a/graphql")
    second = Deployment.objects.create(name="b", graphql_url="http://b/graphql")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT id FROM monitoring_deployment WHERE id = %s FOR UPDATE", [first.pk]
            )
            with transaction.atomic():
                free = list(
                    Deployment.objects.select_for_update(skip_locked=True).values_list(
                        "pk", flat=True
                    )
                )
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert connection.vendor == "postgresql"
    assert free == [second.pk]


@pytest.mark.redis
def test_the_cache_is_redis_and_shared() -> None:
    from django.conf import settings

    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    assert cache.add("confops:test:lock", "held", 5) is True
    assert cache.add("confops:test:lock", "again", 5) is False
    cache.delete("confops:test:lock")


@pytest.mark.redis
def test_the_broker_is_redis_and_reachable() -> None:
    from confops.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.transport.driver_type == "redis"
