"""Login throttling (django-axes through confops/accounts/login_throttle.py): wrong passwords for
one username from one address lock that pair out for a while, on the site's login and the
admin's."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings

from tests.conftest import project_env
from tests.fixtures.personas import ADA, VERA, Persona, make_user

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LOGINS = ["/accounts/login/", "/admin/login/"]
ATTACKER = "203.0.113.9"


def attempt(url: str, persona: Persona, password: str, address: str = ATTACKER) -> Any:
    """One login through the form, as a new browser from ``address``; the response."""
    form = {"username": persona.username, "password": password}
    return Client(REMOTE_ADDR=address).post(url, form)


def logged_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def fail(url: str, persona: Persona, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        # The failure that reaches the limit is already answered 429.
        assert attempt(url, persona, "wrong-password", address).status_code in (200, 429)


@pytest.fixture
def ada() -> Persona:
    make_user(ADA)  # staff, so the admin's login lets her in too
    return ADA


@pytest.mark.parametrize("url", LOGINS)
def test_after_the_limit_even_the_right_password_is_refused(url: str, ada: Persona) -> None:
    fail(url, ada, settings.AXES_FAILURE_LIMIT)

    refused = attempt(url, ada, ada.password)

    assert refused.status_code == 429 and not logged_in(refused)


@pytest.mark.parametrize("url", LOGINS)
def test_a_success_before_the_limit_starts_the_count_again(url: str, ada: Persona) -> None:
    fail(url, ada, settings.AXES_FAILURE_LIMIT - 1)
    assert logged_in(attempt(url, ada, ada.password))

    fail(url, ada, settings.AXES_FAILURE_LIMIT - 1)

    assert logged_in(attempt(url, ada, ada.password))


def test_the_lockout_holds_one_username_from_one_address_only(ada: Persona) -> None:
    make_user(VERA)
    fail(LOGINS[0], ada, settings.AXES_FAILURE_LIMIT)

    assert logged_in(attempt(LOGINS[0], ada, ada.password, address="198.51.100.7"))
    assert logged_in(attempt(LOGINS[0], VERA, VERA.password))


def test_the_lockout_ends_after_the_cool_off(ada: Persona) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        fail(LOGINS[0], ada, settings.AXES_FAILURE_LIMIT)
        assert attempt(LOGINS[0], ada, ada.password).status_code == 429

        clock.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))

        assert logged_in(attempt(LOGINS[0], ada, ada.password))


def test_logins_outside_a_web_request_are_not_counted_or_refused(ada: Persona) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        assert not Client().login(username=ada.username, password="wrong-password")
    assert Client().login(username=ada.username, password=ada.password)


def test_the_limit_and_cool_off_come_from_the_environment(tmp_path: Path) -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds())"
    )
    env = project_env(
        LOGIN_FAILURE_LIMIT="7",
        LOGIN_COOLOFF_MINUTES="2",
        CONFOPS_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="confops.settings",
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True
    )
    assert out.stdout.split() == ["7", "120.0"], out.stderr


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_each_client_is_counted_by_its_own_address(ada: Persona) -> None:
    """Every request arrives from the proxy: counted by that address, an attacker's failures
    locked the username out for everyone. The proxy's X-Forwarded-For entry tells them apart."""
    proxy = "10.0.0.2"

    def through_proxy(client_address: str, password: str) -> Any:
        form = {"username": ada.username, "password": password}
        client = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=client_address)
        return client.post(LOGINS[0], form)

    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy(ATTACKER, "wrong-password")

    assert through_proxy(ATTACKER, ada.password).status_code == 429
    assert logged_in(through_proxy("198.51.100.7", ada.password))
