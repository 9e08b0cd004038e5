"""Restarting the demo keeps its admin password, its secret key and everyone's sessions; it
registers one deployment for both examples and installs both examples' runbooks."""

from __future__ import annotations

import re
import stat
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from alerts.models import Runbook
from alerts.runbooks import wiki
from monitoring.management.commands.demo_bootstrap import DEPLOYMENT_NAME, PASSWORD_FILE
from monitoring.models import Deployment

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "var"
    return settings.DATA_DIR


def bootstrap(dotenv: Path, *args: str) -> str:
    out = StringIO()
    call_command("demo_bootstrap", *args, dotenv=dotenv, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    found = re.search(r"password (\S+);", output)
    assert found, output
    return found.group(1)


def test_a_restart_prints_the_first_password_again(data_dir: Path, tmp_path: Path) -> None:
    first = printed_password(bootstrap(tmp_path / ".env"))

    again = printed_password(bootstrap(tmp_path / ".env"))

    assert again == first
    assert get_user_model().objects.get(username="admin").check_password(first)


def test_the_password_is_kept_under_var_for_its_owner_only(data_dir: Path, tmp_path: Path) -> None:
    password = printed_password(bootstrap(tmp_path / ".env"))

    stored = data_dir / PASSWORD_FILE
    assert stored.read_text().strip() == password
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_open_tabs_stay_logged_in_across_a_restart(data_dir: Path, tmp_path: Path) -> None:
    password = printed_password(bootstrap(tmp_path / ".env"))
    tab = Client()
    assert tab.login(username="admin", password=password)
    assert tab.get("/").status_code == 200

    bootstrap(tmp_path / ".env")

    assert tab.get("/").status_code == 200


def test_a_password_given_on_the_command_line_is_kept_for_the_next_start(
    data_dir: Path, tmp_path: Path
) -> None:
    bootstrap(tmp_path / ".env", "--password", "chosen-pw-123")

    assert printed_password(bootstrap(tmp_path / ".env")) == "chosen-pw-123"


def test_the_demo_gets_a_secret_key_of_its_own_in_dotenv(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    dotenv = tmp_path / ".env"
    bootstrap(dotenv)
    written = dotenv.read_text()

    bootstrap(dotenv)

    assert dotenv.read_text() == written
    keys = re.findall(r"^SECRET_KEY=(.+)$", written, re.MULTILINE)
    assert len(keys) == 1 and len(keys[0]) >= 50
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600


def test_a_users_dotenv_values_are_kept(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("# mine\nSECRET_KEY=my-own-key\nDEBUG=true\n")

    bootstrap(dotenv)

    assert dotenv.read_text() == "# mine\nSECRET_KEY=my-own-key\nDEBUG=true\n"


def test_an_empty_key_copied_from_the_example_is_filled_in_place(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=\nTIME_ZONE=UTC\n")

    bootstrap(dotenv)

    lines = dotenv.read_text().splitlines()
    assert lines[0] == "DEBUG=true" and lines[2] == "TIME_ZONE=UTC"
    assert re.fullmatch(r"SECRET_KEY=\S{50,}", lines[1])
    assert len(lines) == 3


def test_a_key_set_in_the_environment_is_not_shadowed_by_dotenv(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-the-shell")

    bootstrap(tmp_path / ".env")

    assert not (tmp_path / ".env").exists()


def test_the_demo_installs_the_examples_own_runbooks_beside_the_generic_ones(
    data_dir: Path, tmp_path: Path
) -> None:
    output = bootstrap(tmp_path / ".env")
    failure = Runbook.objects.get(slug="confradar-scraper-failure")
    assert failure.title == "ConfRadar: scraper failure"
    assert "confradar.faults clear" in failure.body and "Re-execute" in failure.body
    assert "daily_crawl_schedule" in Runbook.objects.get(slug="confradar-stale-source").body
    assert "wikicfp_conferences" in Runbook.objects.get(slug="confradar-volume-drop").body
    assert failure.revisions.get().summary == "Installed from runbooks"
    assert "confradar-scraper-failure" in output
    assert "confradar" not in Runbook.objects.get(slug="scraper-failure").body.lower()


def test_a_restart_keeps_an_example_runbook_edited_in_the_portal(
    data_dir: Path, tmp_path: Path
) -> None:
    bootstrap(tmp_path / ".env")
    page = Runbook.objects.get(slug="confradar-volume-drop")
    admin = get_user_model().objects.get(username="admin")
    wiki.save_page(slug=page.slug, title=page.title, body="ours", author=admin, now=page.updated_at)
    output = bootstrap(tmp_path / ".env")
    assert Runbook.objects.get(slug="confradar-volume-drop").body == "ours"
    assert "none (all up to date or edited here)" in output


def test_one_deployment_watches_both_examples_and_both_ship_their_runbooks(
    data_dir: Path, tmp_path: Path
) -> None:
    output = bootstrap(tmp_path / ".env", "--dagster-url", "http://127.0.0.1:3000/")
    bootstrap(tmp_path / ".env")

    deployment = Deployment.objects.get()
    assert deployment.name == DEPLOYMENT_NAME
    assert deployment.graphql_url == "http://127.0.0.1:3000/graphql"
    assert "code locations confradar and retailfeed" in output
    assert Runbook.objects.get(slug="retailfeed-feed-failure").title == (
        "RetailFeed: retailer feed failed"
    )
    assert "daily_ingest_schedule" in Runbook.objects.get(slug="retailfeed-stale-partition").body
    assert Runbook.objects.filter(slug__startswith="confradar-").count() == 4
    assert "examples/retailfeed/runbooks" in output and "examples/confradar/runbooks" in output
