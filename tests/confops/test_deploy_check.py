"""Production security settings from the environment: with deploy/https.env, Django's own
``check --deploy`` finds nothing to warn about; HSTS and the HTTPS redirect work as set."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import project_env

PROJECT = Path(__file__).resolve().parents[2]
HTTPS_ENV = PROJECT / "deploy" / "https.env"


def documented_https_settings() -> dict[str, str]:
    lines = HTTPS_ENV.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in a fresh interpreter with a production-like environment and ``env``."""
    base = project_env(
        CONFOPS_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="confops.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="confops.example.com",
        DEBUG="false",
    )
    # The test database's settings, and the browser tests' async switch (a deploy error of its own).
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        base.pop(name, None)
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=base, cwd=PROJECT, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_the_documented_https_settings(tmp_path: Path) -> None:
    result = manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", **documented_https_settings()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_them_check_deploy_warns_about_hsts_and_the_redirect(tmp_path: Path) -> None:
    result = manage(tmp_path, "check", "--deploy")
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


@pytest.mark.parametrize(
    "name, value",
    [
        ("SECURE_HSTS_SECONDS", "a year"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("SECURE_SSL_REDIRECT", "yep"),
    ],
)
def test_a_security_setting_that_does_not_parse_stops_start_up(
    tmp_path: Path, name: str, value: str
) -> None:
    result = manage(tmp_path, "check", **{name: value})
    assert result.returncode != 0 and name in result.stderr


@pytest.mark.django_db
def test_the_redirect_to_https_spares_the_probes_and_hsts_is_sent(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client = Client()

    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/health").status_code == 200
    assert client.get("/health/ready").status_code in (200, 503)
    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
