"""Exit non-zero when beat's or the workers' heartbeat is stale: a container health check."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from confops.runtime import heartbeat

KEYS = {"beat": heartbeat.BEAT_KEY, "worker": heartbeat.WORKER_TASK_KEY}


class Command(BaseCommand):
    help = "Check the age of the beat or worker heartbeat (exit 1 when missing or stale)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("component", choices=sorted(KEYS))
        parser.add_argument("--max-age", type=float, default=None, help="Seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        max_age = options["max_age"] or settings.HEARTBEAT_STALE_SECONDS
        beat = heartbeat.read(KEYS[options["component"]])
        if beat is None:
            raise CommandError(f"no {options['component']} heartbeat recorded")
        age = time.time() - float(beat["at"])
        if age > max_age:
            raise CommandError(
                f"{options['component']} heartbeat is {age:.0f} s old (> {max_age:.0f} s)"
            )
        self.stdout.write(
            f"{options['component']} heartbeat {age:.1f} s old from {beat.get('host')}"
        )
