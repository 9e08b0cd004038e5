"""docker-compose.yml, the Procfile, .env.example and the README agree with each other and with
the settings. No Docker engine runs here, so the file is checked, not started."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import project_env

PROJECT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLE = re.compile(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"')
GUNICORN_VARIABLE = re.compile(r'os\.environ\.get\("([A-Z][A-Z0-9_]+)"')


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
    return parsed


def procfile() -> dict[str, str]:
    entries = {}
    for line in (PROJECT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def documented_variables() -> set[str]:
    names = set(SETTINGS_VARIABLE.findall((PROJECT / "confops/settings.py").read_text()))
    names |= set(GUNICORN_VARIABLE.findall((PROJECT / "confops/gunicorn_conf.py").read_text()))
    return names


def test_the_stack_has_every_service_the_readme_names(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    expected = {"postgres", "redis", "web", "worker", "beat", "dagster", "dagster-daemon"}
    assert expected | {"mailcatcher", "migrate"} <= services
    readme = (PROJECT / "README.md").read_text()
    for name in expected | {"mailcatcher"}:
        assert f"`{name}`" in readme, f"README does not name the {name} service"


def test_compose_runs_the_same_commands_as_the_procfile(compose: dict[str, Any]) -> None:
    for name, command in procfile().items():
        service_command = compose["services"][name]["command"]
        if isinstance(service_command, list):
            service_command = shlex.join(service_command)
        assert service_command == command, f"{name} differs from the Procfile"


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "web", "worker", "beat", "dagster", "mailcatcher"):
        assert "test" in compose["services"][name]["healthcheck"], name


def test_the_portal_services_use_the_real_servers(compose: dict[str, Any]) -> None:
    env = compose["services"]["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert env["CACHE_URL"].startswith("rediscache://")
    assert env["EMAIL_URL"].startswith("smtp://mailcatcher")
    assert compose["services"]["worker"]["environment"] == env
    assert set(compose["volumes"]) >= {"postgres-data", "confops-data", "dagster-home"}


def test_every_variable_is_documented_in_the_readme_and_env_example() -> None:
    readme = (PROJECT / "README.md").read_text()
    example = (PROJECT / ".env.example").read_text()
    for name in documented_variables():
        assert f"| `{name}`" in readme, f"{name} is missing from the README table"
        assert re.search(rf"^{name}=", example, re.M), f"{name} is missing from .env.example"


def test_the_env_example_is_a_working_configuration(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    example = (PROJECT / ".env.example").read_text()
    env_file.write_text(example.replace("SECRET_KEY=", "SECRET_KEY=x"))
    code = (
        f"import environ, django; environ.Env.read_env({str(env_file)!r}, overwrite=True); "
        "django.setup(); "
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    )
    clean = {k: v for k, v in project_env().items() if k not in documented_variables()}
    clean["DJANGO_SETTINGS_MODULE"] = "confops.settings"
    result = subprocess.run(
        [sys.executable, "-c", code], env=clean, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.parametrize("ignored", [False, True], ids=["read", "ignored"])
def test_gunicorn_reads_the_same_dotenv_as_the_settings(tmp_path: Path, ignored: bool) -> None:
    """A copy of the config beside a .env of its own: the project's .env is left alone."""
    (tmp_path / "confops").mkdir()
    config = tmp_path / "confops/gunicorn_conf.py"
    config.write_text((PROJECT / "confops/gunicorn_conf.py").read_text())
    (tmp_path / ".env").write_text(
        f"METRICS_MULTIPROC_DIR={tmp_path / 'prom'}\nWEB_CONCURRENCY=5\n"
    )
    env = {k: v for k, v in project_env().items() if k not in documented_variables()}
    if not ignored:
        env.pop("CONFOPS_IGNORE_DOTENV")
    code = f"import runpy; c = runpy.run_path({str(config)!r}); "
    code += "print([c['metrics_dir'], c['workers']])"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    expected = ["", 2] if ignored else [str(tmp_path / "prom"), 5]
    assert result.stdout.strip() == repr(expected)
