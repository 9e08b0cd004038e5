"""Create the first admin of a real install: a staff account in the Admin role (every change to
rules, channels, deployments), its password read from the environment or prompted, never an
argument (it would stay in the shell history and the process list)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from confops.accounts.roles import ADMIN

PASSWORD_VARIABLE = "CONFOPS_ADMIN_PASSWORD"  # noqa: S105 - a variable's name


class Command(BaseCommand):
    help = f"Create (or promote) an admin in the Admin role; password from ${PASSWORD_VARIABLE}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=options["username"]).first()
        created = user is None
        if user is None:
            user = user_model(username=options["username"], email=options["email"])
        password = os.environ.get(PASSWORD_VARIABLE) or (prompt() if created else "")
        if password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            user.set_password(password)
        user.is_staff = user.is_active = True
        user.save()
        user.groups.add(Group.objects.get(name=ADMIN))
        verb = "Created" if created else "Gave the Admin role to"
        self.stdout.write(f"{verb} {user.get_username()} (Admin role, may open /admin/)")


def prompt() -> str:
    """Ask twice on the terminal; without one, say which variable to set instead."""
    if not os.isatty(0):
        raise CommandError(f"no password: set {PASSWORD_VARIABLE} or run in a terminal")
    first, second = getpass.getpass("Password: "), getpass.getpass("Password (again): ")
    if first != second:
        raise CommandError("the passwords differ")
    return first
