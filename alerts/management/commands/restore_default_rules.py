"""Recreate the default rules, or reset them to their shipped settings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.defaults import create_default_rules

ACTOR = "manage.py restore_default_rules"  # who the audit trail says changed the rules


class Command(BaseCommand):
    help = "Create missing default rules; with --reset, also reset existing ones to defaults."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Overwrite operator changes")

    def handle(self, *args: Any, **options: Any) -> None:
        changed = create_default_rules(restore=options["reset"], actor_label=ACTOR)
        verb = "Reset or created" if options["reset"] else "Created"
        self.stdout.write(
            f"{verb} {len(changed)} default rules" + (f": {', '.join(changed)}" if changed else "")
        )
