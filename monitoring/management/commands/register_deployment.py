"""Register (or update) a Dagster deployment to watch, e.g. from a deploy script."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from monitoring.models import Deployment
from monitoring.operations import save_deployment

ACTOR = "manage.py register_deployment"  # who the audit trail says changed the deployment


class Command(BaseCommand):
    help = "Create or update a Dagster deployment by name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("graphql_url", help="e.g. http://127.0.0.1:3000/graphql")
        parser.add_argument("--ui-url", default="", help="Base URL of the Dagster UI")
        parser.add_argument("--interval", type=int, default=2, help="Poll interval in seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        deployment = Deployment.objects.filter(name=options["name"]).first() or Deployment(
            name=options["name"]
        )
        deployment.graphql_url = options["graphql_url"]
        deployment.ui_url = options["ui_url"] or deployment.ui_url
        deployment.poll_interval_seconds = options["interval"]
        try:
            save_deployment(deployment, None, timezone.now(), actor_label=ACTOR)
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(messages) from exc
        self.stdout.write(f"Deployment {deployment.name} watches {deployment.display_url}")
