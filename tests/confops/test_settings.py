"""Settings: embedded defaults need no server; production values come from the environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from confops.common.env import StrictEnv
from tests.conftest import project_env

PROJECT = Path(__file__).resolve().parents[2]
DUMP = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "db": s.DATABASES["default"]["ENGINE"], "db_name": str(s.DATABASES["default"]["NAME"]),
    "broker": s.CELERY_BROKER_URL, "cache": s.CACHES["default"]["BACKEND"],
    "email": s.EMAIL_BACKEND, "debug": s.DEBUG, "log_format": s.LOG_FORMAT,
    "scheduler": s.CELERY_BEAT_SCHEDULER, "email_host": getattr(s, "EMAIL_HOST", ""),
}))
"""


def settings_in_child(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter, with only the variables given set."""
    base = {k: v for k, v in project_env().items() if not is_confops_variable(k)}
    base.update({"CONFOPS_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "confops.settings"})
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", DUMP], env=base, cwd=PROJECT, capture_output=True, text=True
    )


def is_confops_variable(name: str) -> bool:
    return name in {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "DEBUG",
        "SECRET_KEY",
        "LOG_FORMAT",
    }


def test_the_embedded_defaults_need_no_server(tmp_path: Path) -> None:
    result = settings_in_child(tmp_path, SECRET_KEY="s3cret")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "confops.sqlite3")
    assert values["broker"].startswith("filesystem://")
    assert values["cache"].endswith("FileBasedCache")
    assert values["email"] == "django.core.mail.backends.console.EmailBackend"
    assert values["scheduler"] == "django_celery_beat.schedulers:DatabaseScheduler"
    assert values["debug"] is False
    assert values["log_format"] == "json"


def test_production_values_come_from_the_environment(tmp_path: Path) -> None:
    result = settings_in_child(
        tmp_path,
        SECRET_KEY="s3cret",
        DATABASE_URL="postgres://confops:pw@db.internal:5432/confops",
        CELERY_BROKER_URL="redis://redis.internal:6379/0",
        CACHE_URL="rediscache://redis.internal:6379/1",
        EMAIL_URL="smtp://mailer:pw@smtp.internal:587",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://redis.internal:6379/0"
    assert "redis" in values["cache"].lower()
    assert values["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["email_host"] == "smtp.internal"


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path: Path) -> None:
    result = settings_in_child(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_mode_runs_without_a_secret_key(tmp_path: Path) -> None:
    result = settings_in_child(tmp_path, DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["log_format"] == "text"


def test_a_misspelt_boolean_stops_start_up(tmp_path: Path) -> None:
    result = settings_in_child(tmp_path, DEBUG="ture", SECRET_KEY="s3cret")
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_strict_booleans_accept_the_usual_words(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("CONFOPS_FLAG", raw)
    assert StrictEnv().bool("CONFOPS_FLAG") is expected


def test_a_missing_boolean_takes_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONFOPS_FLAG", raising=False)
    assert StrictEnv().bool("CONFOPS_FLAG", default=True) is True


@pytest.mark.parametrize("raw", ["0", "-5", "ten"])
def test_positive_integers_refuse_nonsense(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("CONFOPS_NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="CONFOPS_NUMBER"):
        StrictEnv().positive_int("CONFOPS_NUMBER", default=3)


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    result = settings_in_child(tmp_path, SECRET_KEY="s3cret", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT='xml'" in result.stderr
