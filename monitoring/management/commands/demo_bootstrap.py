"""Prepare the demo: an admin user, a key for .env, the local Dagster deployment (serving both
examples) and the examples' own runbooks.

Every start of the demo runs this, so it keeps what the previous start made: the admin's
password (stored under the data directory, printed again) and the secret key (in .env, which
manage.py, Celery and gunicorn read). Open tabs stay logged in across restarts, and
``manage.py`` commands work in any other shell.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from confops.common.env import add_to_dotenv

DEPLOYMENT_NAME = "confradar-local"
PASSWORD_FILE = "demo_admin_password"  # noqa: S105 - a file name, not a password
KEY_COMMENT = (
    "Added by `make demo`: signs the demo's sessions across restarts and lets manage.py run "
    "in any shell. Your own values in this file are never changed."
)


class Command(BaseCommand):
    help = (
        "Create the demo admin (printing its password), register the local Dagster (both "
        "examples) and install the examples' runbooks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password", default="", help="Default: the stored one, else a new random password"
        )
        parser.add_argument("--dagster-url", default="http://127.0.0.1:3000")
        parser.add_argument("--portal-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--dotenv", type=Path, default=None, help="Default: .env in the project's root"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password_file = Path(settings.DATA_DIR) / PASSWORD_FILE
        password = options["password"] or read_password(password_file) or new_password()
        write_private(password_file, password)
        user = demo_admin(options["username"], password)
        keep_secret_key(options["dotenv"] or Path(settings.BASE_DIR) / ".env")
        dagster_url = options["dagster_url"].rstrip("/")
        # One deployment: the demo's one Dagster instance serves both examples' code locations
        # (examples/workspace.yaml). The name predates RetailFeed and is kept, so a restarted
        # demo keeps its history instead of polling the same Dagster twice.
        call_command(
            "register_deployment",
            DEPLOYMENT_NAME,
            f"{dagster_url}/graphql",
            ui_url=dagster_url,
            interval=2,
            stdout=self.stdout,
        )
        # Each example's own runbooks (its feeds and faults), beside confops' generic ones.
        for runbooks in example_runbooks(Path(settings.BASE_DIR) / "examples"):
            call_command("install_runbooks", runbooks, stdout=self.stdout)
        portal = options["portal_url"].rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  confops portal : {portal}/  (user {user.get_username()}, password {password};"
                f" kept in {password_file})\n"
                f"  Django admin   : {portal}/admin/\n"
                f"  Dagster UI     : {dagster_url}/  (code locations confradar and retailfeed)\n"
                f"  liveness       : {portal}/health\n"
            )
        )


def example_runbooks(examples: Path) -> list[Path]:
    """The runbook folders the bundled examples ship (examples/<name>/runbooks), by name."""
    return sorted(path for path in examples.glob("*/runbooks") if path.is_dir())


def new_password() -> str:
    return secrets.token_urlsafe(12)


def read_password(path: Path) -> str:
    """The stored password, or "" when there is none yet."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (also when it already existed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text + "\n")


def demo_admin(username: str, password: str) -> AbstractBaseUser:
    """The demo's superuser with this password. The password is set only when it differs: a
    new hash changes the session hash and would log every open tab out."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model(username=username, email="admin@localhost")
    user.is_staff = user.is_superuser = user.is_active = True
    if not user.check_password(password):
        user.set_password(password)
    user.save()
    return user


def keep_secret_key(dotenv: Path) -> None:
    """Without a SECRET_KEY (in the environment or .env) DEBUG falls back to a fixed key; give
    the demo its own, kept in .env. A key set in the environment is left alone: it wins over
    .env, and a second key in .env would sign the sessions of a manage.py run elsewhere."""
    if os.environ.get("SECRET_KEY"):
        return
    add_to_dotenv(dotenv, "SECRET_KEY", secrets.token_urlsafe(50), KEY_COMMENT)
