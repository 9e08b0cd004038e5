"""How many alerts would a rule have fired over the last N days? (docs/replay.md, Backtest.)"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.replay import results
from alerts.replay.backtest import MAX_DAYS, BacktestError, BacktestResult, backtest, find_rule
from alerts.replay.sandbox import ReplayFailed


def parameters_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--parameters is not valid JSON: {exc.msg}", returncode=2) from None
    if not isinstance(value, dict):
        raise CommandError('--parameters must be a JSON object, e.g. {"percent": 40}', returncode=2)
    return value


class Command(BaseCommand):
    help = (
        "Replay the stored history of the last N days with one rule (parameters optionally "
        "overridden) and report the alerts it would have fired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rule", help="the rule's name or id")
        parser.add_argument("--days", type=int, default=30, help="window (default 30 days)")
        parser.add_argument(
            "--parameters", help='JSON object merged over the rule\'s, e.g. {"percent": 40}'
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["days"] <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}", returncode=2)
        overrides = parameters_object(options["parameters"]) if options["parameters"] else None
        try:
            result = backtest(find_rule(options["rule"]), overrides, options["days"])
        except BacktestError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except ReplayFailed as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), indent=2))
        else:
            self.stdout.write(render(result), ending="")


def render(result: BacktestResult) -> str:
    parameters = json.dumps(result.parameters, sort_keys=True)
    lines = [
        f"Backtest of {result.rule!r} ({result.kind}, parameters {parameters})",
        f"over {result.days} days, {results.short(results.iso(result.since))} to "
        f"{results.short(results.iso(result.until))} UTC: {result.sources} sources, "
        f"{result.runs} runs (with a week before for warm-up).",
        "",
        f"It would have fired {result.fired} alert{'s' if result.fired != 1 else ''} "
        f"and sent {result.notifications} notifications.",
    ]
    if result.alerts:
        lines += results.table(
            ["SOURCE", "SEVERITY", "FIRED", "RESOLVED"],
            [
                [a.source, a.severity, results.short(a.fired_at), results.short(a.resolved_at)]
                for a in result.alerts
            ],
        )
    return "\n".join(lines) + "\n"
