"""Prepare the demo: an admin user with a fresh password and the local example deployment."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create the demo admin (printing its password) and register the local Dagster."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="", help="Default: a new random password")
        parser.add_argument("--dagster-url", default="http://127.0.0.1:3000")
        parser.add_argument("--portal-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or secrets.token_urlsafe(12)
        user_model = get_user_model()
        user = user_model.objects.filter(username=options["username"]).first()
        if user is None:
            user = user_model(username=options["username"], email="admin@localhost")
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        dagster_url = options["dagster_url"].rstrip("/")
        call_command(
            "register_deployment",
            "confradar-local",
            f"{dagster_url}/graphql",
            ui_url=dagster_url,
            interval=2,
            stdout=self.stdout,
        )
        portal = options["portal_url"].rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  confops portal : {portal}/  (user {user.username}, password {password})\n"
                f"  Django admin   : {portal}/admin/\n"
                f"  Dagster UI     : {dagster_url}/\n"
                f"  liveness       : {portal}/health\n"
            )
        )
