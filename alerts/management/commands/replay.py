"""Replay a JSONL history with the configured rules on a throw-away database (docs/replay.md).

The command checks the file and the rules, then runs itself again with ``--inner`` in a child
process whose database is a new temporary SQLite file; the child migrates it, loads the rules,
simulates and prints the result, which the parent renders.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import override_settings

from alerts.models import AlertRule
from alerts.notify import outbox
from alerts.replay import sandbox
from alerts.replay.lines import Numbered, ReplayInputError, read_lines
from alerts.replay.results import render_text
from alerts.replay.sandbox import ReplayFailed
from alerts.replay.simulation import CLOCKS, simulate
from alerts.replay.specs import (
    RuleSpec,
    check_references,
    export_rules,
    load_rules_file,
    validate_rules,
)
from confops.common.gc_tuning import tune_for_replay


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a whole number of seconds above 0")
    return value


def hours(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 24 * 366:
        raise argparse.ArgumentTypeError("must be between 0 and 8784 hours")
    return value


def utc_moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a time zone")
    return value.astimezone(UTC)


def configured_rules(stderr: Any) -> list[RuleSpec]:
    """The enabled rules of the database; like the engine, an invalid one is skipped."""
    specs = []
    for raw in export_rules():
        try:
            specs.extend(validate_rules([raw], origin="configured rules"))
        except ReplayInputError as exc:
            stderr.write(f"skipped: {exc}")
    return specs


class Command(BaseCommand):
    help = (
        "Replay a JSONL history (one run per line) with the configured rules on a throw-away "
        "database and a simulated clock; print the alerts that would have fired and the "
        "notifications that would have been sent. See docs/replay.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSONL file: one run (or declaration) per line")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--tail",
            type=hours,
            default=sandbox.DEFAULT_TAIL_HOURS,
            help="hours of simulated time after the last event (default 48)",
        )
        parser.add_argument(
            "--rules", help="JSON list of rule objects to replay instead of the configured ones"
        )
        parser.add_argument(
            "--step",
            type=positive_int,
            default=sandbox.DEFAULT_STEP_SECONDS,
            help="seconds between evaluations of the simulated clock (default 300)",
        )
        parser.add_argument(
            "--clock",
            choices=CLOCKS,
            default=CLOCKS[0],
            help="focused (default): the engine judges the sources an instant touched, those "
            "due and those alerting; full: a full evaluation at every instant with a line "
            "(slower, finds the same)",
        )
        parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--until", type=utc_moment, help=argparse.SUPPRESS)
        parser.add_argument("--save-template", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            if options["rules"]:
                specs = load_rules_file(Path(options["rules"]))
            else:
                specs = configured_rules(self.stderr)
            if options["inner"]:
                lines = read_lines(path)
                check_references(lines, specs)
        except ReplayInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["inner"]:
            self.simulate_here(lines, specs, options)
            return
        try:
            result = sandbox.run_in_sandbox(
                path,
                [spec.model_dump(mode="json") for spec in specs],
                step_s=options["step"],
                tail_hours=options["tail"],
                until=options["until"],
                clock=options["clock"],
                # The file is checked here, before any result is taken, while the child starts.
                check=lambda: check_references(read_lines(path), specs),
            )
        except ReplayInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except ReplayFailed as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), indent=2))
        else:
            self.stdout.write(render_text(result), ending="")

    def simulate_here(self, lines: list[Numbered], specs: list[RuleSpec], options: Any) -> None:
        """The child's part: only ever on the empty database the parent made for it."""
        guard_sandbox()
        # The throw-away schema is built from the models as they are (Django's test runner
        # without migrations does the same), not by replaying every migration: rendering
        # 83 migrations' states was 4 of a replay's 8 s of start-up.
        unmigrated = {app.label: None for app in apps.get_app_configs()}
        with override_settings(MIGRATION_MODULES=unmigrated):
            call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        if options["save_template"]:
            save_copy(Path(options["save_template"]))
        AlertRule.objects.all().delete()  # the default rules migrate created
        tune_for_replay()
        # The outbox hands each row to delivery through outbox.dispatch: nothing leaves.
        with mock.patch.object(outbox, "dispatch", lambda notification_id, queue: None):
            result = simulate(
                lines,
                specs,
                step=timedelta(seconds=options["step"]),
                tail=timedelta(hours=options["tail"]),
                until=options["until"],
                clock=options["clock"],
            )
        self.stdout.write(sandbox.RESULT_MARKER)
        self.stdout.write(result.to_wire())


def guard_sandbox() -> None:
    """--inner deletes every rule: refuse unless this is a database the parent made for it (a
    new file, or a copy of a freshly migrated one, in a folder of its own)."""
    expected = os.environ.get(sandbox.SANDBOX_ENV, "")
    name = str(settings.DATABASES["default"]["NAME"])
    in_sandbox = Path(name).parent.name.startswith(sandbox.SANDBOX_PREFIX)
    if not expected or name != expected or not in_sandbox:
        sys.stderr.write("replay --inner runs only in the sandbox that replay itself creates\n")
        raise CommandError("not a replay sandbox", returncode=3)


def save_copy(path: Path) -> None:
    """A consistent copy of the migrated database (VACUUM INTO reads through the WAL), put in
    place at once so that a concurrent replay never copies half of it."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(partial)])
    os.replace(partial, path)
