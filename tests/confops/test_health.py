"""Health endpoints: liveness without I/O, readiness naming what failed, details behind login."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from confops.runtime import deadman, heartbeat
from monitoring.models import Deployment
from tests.conftest import project_env
from tests.fixtures.http import HttpResponder

PROJECT = Path(__file__).resolve().parents[2]
PROBE = """
import django, json
django.setup()
from django.test import Client
for path in ("/health", "/health/ready"):
    r = Client().get(path)
    print(json.dumps({"path": path, "status": r.status_code, "body": r.json()}))
"""


def probe_with(tmp_path: Path, **env: str) -> dict[str, dict[str, Any]]:
    """Ask /health and /health/ready of a fresh process whose settings point at ``env``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=project_env(
            DJANGO_SETTINGS_MODULE="confops.settings",
            CONFOPS_DATA_DIR=str(tmp_path),
            SECRET_KEY="s",
            ALLOWED_HOSTS="testserver",
            **env,
        ),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_liveness_answers_without_login_or_any_query(client: Client) -> None:
    """No django_db mark: pytest-django makes any database access here an error."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_is_ok_when_database_and_broker_answer(client: Client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["duration_ms"] >= 0


def test_readiness_names_an_unreachable_database(tmp_path: Path) -> None:
    answers = probe_with(tmp_path, DATABASE_URL="postgres://confops:pw@127.0.0.1:1/confops")
    assert answers["/health"]["status"] == 200
    ready = answers["/health/ready"]
    assert ready["status"] == 503
    assert ready["body"]["failing"] == ["database"]
    # Anonymous: the state, not the driver's error text (host, port, user name).
    assert ready["body"]["checks"]["database"] == {
        "ok": False,
        "duration_ms": ready["body"]["checks"]["database"]["duration_ms"],
    }
    assert "127.0.0.1" not in json.dumps(ready["body"])


def test_readiness_names_an_unreachable_broker(tmp_path: Path) -> None:
    answers = probe_with(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        HEALTH_CHECK_TIMEOUT_SECONDS="1",
    )
    ready = answers["/health/ready"]
    assert ready["status"] == 503
    assert ready["body"]["failing"] == ["broker"]


@pytest.mark.django_db
def test_readiness_warns_of_a_stalled_poller_without_naming_its_deployment(
    client: Client, admin_client: Client, settings: Any
) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    now = timezone.now()
    heartbeat.record_beat(now.timestamp())
    heartbeat.record_worker("celery@w", now.timestamp())
    deployment = Deployment.objects.create(
        name="secret-dagster-prod", graphql_url="http://127.0.0.1:3000/graphql"
    )
    Deployment.objects.filter(pk=deployment.pk).update(
        created_at=now - timedelta(days=1), last_poll_at=now - timedelta(days=1)
    )
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["warnings"] == ["a deployment is not being polled"]
    assert "secret-dagster-prod" not in response.content.decode()
    stalls = admin_client.get("/health/detailed").json()["watcher"]["stalls"]
    assert [s["component"] for s in stalls] == ["poller:secret-dagster-prod"]


@pytest.mark.django_db
def test_details_need_a_login(client: Client) -> None:
    response = client.get("/health/detailed")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_details_report_each_component_with_timings(admin_client: Client, settings: Any) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3  # no worker runs here: keep the ping short
    now = timezone.now()
    Deployment.objects.create(
        name="confradar",
        graphql_url="http://127.0.0.1:3000/graphql",
        last_poll_at=now,
        last_success_at=now,
        last_poll_duration_ms=12.5,
        dagster_version="1.13.27",
    )
    heartbeat.record_beat(now.timestamp() - 5)
    response = admin_client.get("/health/detailed")
    body = response.json()
    assert response.status_code == 503  # no worker answers the ping in this test
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"] and checks["cache"]["ok"]
    assert checks["beat"]["ok"] and 4 <= checks["beat"]["info"]["age_seconds"] < 60
    assert checks["workers"]["ok"] is False and "no worker answered" in checks["workers"]["error"]
    assert checks["worker_heartbeat"]["error"].endswith("no heartbeat recorded yet")
    assert all("duration_ms" in check for check in checks.values())
    [deployment] = body["deployments"]
    assert deployment["name"] == "confradar" and deployment["reachable"] is True
    assert deployment["dagster_version"] == "1.13.27"
    assert (deployment["unhealthy_daemons"], deployment["failing_code_locations"]) == ([], [])


@pytest.mark.django_db
def test_details_name_a_silent_daemon_and_a_broken_code_location(
    admin_client: Client, settings: Any
) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    now = timezone.now()
    silent = {"required": True, "healthy": True, "last_heartbeat": now.timestamp() - 8 * 60}
    Deployment.objects.create(
        name="retailfeed",
        graphql_url="http://127.0.0.1:3001/graphql",
        last_success_at=now,
        daemon_health={"SCHEDULER": silent},
        code_location_errors={"retailfeed": "RetailFeedFault: boom"},
    )
    [deployment] = admin_client.get("/health/detailed").json()["deployments"]
    assert deployment["reachable"] is True
    assert deployment["unhealthy_daemons"] == ["SCHEDULER"]
    assert deployment["failing_code_locations"] == ["retailfeed"]


@pytest.mark.django_db
def test_a_stale_beat_heartbeat_is_reported(admin_client: Client, settings: Any) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    settings.HEARTBEAT_STALE_SECONDS = 60
    heartbeat.record_beat(timezone.now().timestamp() - 600)
    checks = admin_client.get("/health/detailed").json()["checks"]
    assert checks["beat"]["ok"] is False
    assert "stale after 60 s" in checks["beat"]["error"]


@pytest.mark.django_db
def test_a_heartbeat_from_a_clock_running_ahead_is_of_age_zero_not_negative(
    admin_client: Client, settings: Any
) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    now = timezone.now()
    # Written by a process whose clock runs 3 s ahead of this one's.
    heartbeat.record_beat(now.timestamp() + 3)
    heartbeat.record_worker("celery@ahead", now.timestamp() + 3)
    Deployment.objects.create(
        name="confradar",
        graphql_url="http://127.0.0.1:3000/graphql",
        last_success_at=now + timedelta(seconds=3),
    )

    body = admin_client.get("/health/detailed").json()

    beat = body["checks"]["beat"]
    assert beat["ok"] and beat["info"]["age_seconds"] == 0
    assert 0 < beat["info"]["clock_ahead_seconds"] <= 3
    assert body["worker_heartbeats"] == {"celery@ahead": 0}
    assert body["deployments"][0]["last_success_age_seconds"] == 0


# --- The dead man's switch: confops's health as seen from outside -----------------------------


@pytest.mark.parametrize("reachable", [True, False], ids=["refused-404", "unreachable"])
def test_a_failed_dead_mans_switch_ping_is_logged_without_its_secret_url(
    reachable: bool, http_responder: HttpResponder, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "ping-secret-0123456789abcdef"
    base = http_responder.url if reachable else "http://127.0.0.1:1"
    http_responder.respond(404, "no such check")
    with caplog.at_level(logging.WARNING, logger="confops.runtime.deadman"):
        assert deadman.ping(f"{base}/ping/{secret}") is False
    assert "dead man's switch ping failed" in caplog.text
    assert secret not in caplog.text
    assert ("HTTPError (status 404)" if reachable else "ConnectionError") in caplog.text


@pytest.mark.django_db
def test_details_name_an_unreachable_cache_instead_of_failing(
    admin_client: Client, settings: Any
) -> None:
    """The worker heartbeats are read from the cache outside any check: a cache that was down
    made the page that should say so a 500."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://:cache-pw-7d1e@127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.3},
        }
    }
    response = admin_client.get("/health/detailed")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["cache"]["ok"] is False and body["worker_heartbeats"] == {}
    assert "cache-pw-7d1e" not in response.content.decode()
