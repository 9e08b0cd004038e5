"""Apply a YAML file of deployments and notification channels (docs/install.md), idempotently."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from alerts import provisioning


class Command(BaseCommand):
    help = (
        "Create or update the deployments and channels a YAML file declares, and the rules "
        "routed to each channel; a second run changes nothing. Secrets as ${ENV_VAR}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = provisioning.load(options["file"], os.environ)
            plan = provisioning.plan(document)
        except provisioning.ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        for change in plan.changes:
            self.stdout.write(str(change))
        if not plan.changed:
            self.stdout.write("no changes")
        elif options["dry_run"]:
            self.stdout.write("dry run: nothing written")
        else:
            provisioning.apply(plan, timezone.now())
            self.stdout.write(self.style.SUCCESS("applied"))
