"""``manage.py prune_history [--dry-run]``: what the hourly task does, now, with its counts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from alerts.retention import prune_history


class Command(BaseCommand):
    help = "Delete history past its retention settings (docs/storage.md); --dry-run counts it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument(
            "--budget-seconds", type=float, default=None, help="Default PRUNE_BUDGET_SECONDS."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = prune_history(
            timezone.now(),
            batch_size=options["batch_size"],
            budget_seconds=options["budget_seconds"],
            dry_run=options["dry_run"],
        )
        verb = "would delete" if options["dry_run"] else "deleted"
        for label, count in sorted(report.deleted.items()):
            self.stdout.write(f"{label}: {verb} {count}")
        if not report.complete:
            self.stdout.write("time budget spent: the next run goes on")
