"""Install a pipeline's own runbooks from a folder of Markdown files (the demo installs the
example's), through the wiki's one door, so each page gets a revision and an audit entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from alerts.runbooks.defaults import install_pages


class Command(BaseCommand):
    help = "Install the *.md runbooks of a folder (file name = slug, first '# ' line = title)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        if not directory.is_dir():
            raise CommandError(f"{directory}: no such folder")
        written = install_pages(directory, timezone.now())
        names = ", ".join(written) if written else "none (all up to date or edited here)"
        self.stdout.write(f"Runbooks installed from {directory}: {names}")
