"""Shared fixtures: personas, a file-based test database that other processes can open, and the
plugins that start real servers (the Dagster webserver, Celery worker and beat)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

pytest_plugins = [
    "tests.fixtures.dagster",
    "tests.fixtures.retailfeed",
    "tests.fixtures.processes",
    "tests.fixtures.http",
    "tests.fixtures.smtp",
    "tests.fixtures.slack_api",
    "tests.fixtures.pagerduty",
    "tests.fixtures.browser",
    "tests.fixtures.personas",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip server-bound tests with the reason when that server is not what this run uses."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = settings.CELERY_BROKER_URL.startswith("redis")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(
                pytest.mark.skip(
                    reason="runs in the PostgreSQL pass (DATABASE_URL=postgres://...; "
                    "make test starts one with CI=true or CONFOPS_TEST_SERVICES=1)"
                )
            )
        if "redis" in item.keywords and not on_redis:
            item.add_marker(
                pytest.mark.skip(
                    reason="runs in the Redis pass (CELERY_BROKER_URL=redis://...; "
                    "make test starts one with CI=true or CONFOPS_TEST_SERVICES=1)"
                )
            )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SQLite's test database lives in a file, so worker and beat processes can open it too."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        test_db = tmp_path_factory.mktemp("db") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_db)


@pytest.fixture(autouse=True)
def _fast_and_clean(settings: Any) -> Iterator[None]:
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield


# Days to shift this process's clock by in each test (scripts/test.sh runs its first pass a year
# ahead). A test that fixes a date and then reads anything on the real clock (a cache TTL, a
# timezone.now() default, a cookie's expiry) passes on the day it was written and fails weeks
# later; a year-shifted clock makes it fail on the day it is written instead.
CLOCK_SHIFT = timedelta(days=int(os.environ.get("CONFOPS_TEST_CLOCK_SHIFT_DAYS") or 0))
# Tests with other processes (workers, beat, gunicorn, Dagster, Chromium) keep the real clock,
# which those processes read; so do real_clock tests, which compare it with file times.
REAL_CLOCK_MARKERS = ("slow", "browser", "dagster", "real_clock")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_clock: compares its clock with one a shifted test clock cannot move (file times), "
        "so it keeps the real clock in the year-ahead pass",
    )


@pytest.fixture(autouse=True)
def _shifted_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    node = request.node
    if not CLOCK_SHIFT or any(node.get_closest_marker(m) for m in REAL_CLOCK_MARKERS):
        yield
        return
    if "transactional_db" in request.fixturenames:
        # Set up first, torn down last: the flush after the test reloads the default rows (beat's
        # schedule among them), and they must carry the real clock into the next test.
        request.getfixturevalue("transactional_db")
    with time_machine.travel(datetime.now(UTC) + CLOCK_SHIFT, tick=True):
        yield


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    """A logged-in reader with no special rights."""
    return django_user_model.objects.create_user("vera-viewer", password="pw-viewer-123")


@pytest.fixture
def viewer_client(client: Any, viewer: Any) -> Any:
    client.force_login(viewer)
    return client


def project_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process of the project, with ``overrides`` applied."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({"CONFOPS_IGNORE_DOTENV": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(overrides)
    return env
