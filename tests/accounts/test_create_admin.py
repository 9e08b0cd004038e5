"""The first admin of a real install in one command, its password from the environment."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from confops.accounts.roles import ADMIN

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough passphrase 7"


def test_the_admin_is_created_in_the_admin_role_and_can_log_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONFOPS_ADMIN_PASSWORD", PASSWORD)
    out = StringIO()
    call_command("create_admin", username="oncall", email="oncall@example.com", stdout=out)
    user = get_user_model().objects.get(username="oncall")
    assert user.groups.filter(name=ADMIN).exists() and user.is_staff
    assert PASSWORD not in out.getvalue() and "Created oncall" in out.getvalue()
    assert Client().login(username="oncall", password=PASSWORD)


def test_a_second_run_keeps_the_password_and_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFOPS_ADMIN_PASSWORD", PASSWORD)
    call_command("create_admin", username="oncall", stdout=StringIO())
    monkeypatch.delenv("CONFOPS_ADMIN_PASSWORD")
    call_command("create_admin", username="oncall", stdout=StringIO())
    assert Client().login(username="oncall", password=PASSWORD)


def test_without_a_password_or_a_terminal_it_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONFOPS_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("os.isatty", lambda fd: False)
    with pytest.raises(CommandError, match="CONFOPS_ADMIN_PASSWORD"):
        call_command("create_admin", username="oncall", stdout=StringIO())
    assert not get_user_model().objects.filter(username="oncall").exists()
