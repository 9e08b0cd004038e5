"""Replay of a fleet's month with the default rules, through ``manage.py replay`` (issue 19).

    .venv/bin/python benchmarks/backtest.py [--sources 1000] [--days 30] [--seed 19]
        [--clock focused|full]

Writes ``tests/scenarios/generate_fleet.py``'s history (seeded: hourly, six-hourly and daily
sources, failures, staleness, volume drops) to a temporary JSONL file, the default rules to a
rules file, and times the command end to end: the parent checks the file, the child migrates
its sandbox database, simulates through the live engine (``evaluate``, the policy) and prints
the result. Prints runs, alerts found per rule, wall time and CPU time (the processes' own, as
other work on a shared machine inflates the wall time) per run, with the machine. Exit 1 if the
replay process failed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import machine  # noqa: E402

# The history's last runs are hourly ones just before midnight; its daily sources run between
# 01:00 and 06:00. A longer tail (6 h, as measured before 2026-12-07) makes most daily sources
# miss their next run: hundreds of missed-schedule and stale alerts that only the cut-off makes.
TAIL_HOURS = 1


def children_cpu() -> float:
    """User + system seconds of finished child processes (the command and its sandbox child):
    on a shared machine the wall time also counts other processes' turns."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def default_rules_spec() -> list[dict[str, object]]:
    """The shipped default rules as a replay rules file (internal kinds are not replayed)."""
    from alerts.defaults import DEFAULT_RULES
    from alerts.rules.base import internal_kinds, load_kinds

    load_kinds()
    rules = []
    for default in DEFAULT_RULES:
        if default.kind in internal_kinds():
            continue
        spec = {k: v for k, v in asdict(default).items() if v not in (None, "", {})}
        rules.append(spec)
    return rules


def replay(folder: Path, history: Path, rules: Path, clock: str) -> dict[str, object]:
    env = {
        **os.environ,
        "SECRET_KEY": "benchmark",
        "CONFOPS_IGNORE_DOTENV": "1",
        "CONFOPS_DATA_DIR": str(folder / "data"),
        "DATABASE_URL": f"sqlite:///{folder}/parent.sqlite3",
        "CACHE_URL": "locmemcache://",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        str(PROJECT / "manage.py"),
        "replay",
        str(history),
        "--rules",
        str(rules),
        "--tail",
        str(TAIL_HOURS),
        "--clock",
        clock,
        "--json",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        print("the replay process failed", file=sys.stderr)
        sys.exit(1)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--clock",
        choices=["focused", "full"],
        default="focused",
        help="the replay's clock (full: today's evaluation of every source at every line)",
    )
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confops.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark")
    os.environ.setdefault("CONFOPS_IGNORE_DOTENV", "1")
    with tempfile.TemporaryDirectory(prefix="confops-bench-backtest-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("CONFOPS_DATA_DIR", str(folder / "data"))
        import django

        django.setup()
        from tests.scenarios.generate_fleet import fleet_history

        lines = fleet_history(options.sources, options.days, options.seed)
        history = folder / "fleet.jsonl"
        history.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        rules = folder / "rules.json"
        rule_specs = default_rules_spec()
        rules.write_text(json.dumps(rule_specs), encoding="utf-8")
        runs = sum(1 for line in lines if "at" in line)
        began, cpu_before = time.perf_counter(), children_cpu()
        result = replay(folder, history, rules, options.clock)
        wall, cpu = time.perf_counter() - began, children_cpu() - cpu_before
    alerts = result["alerts"]
    assert isinstance(alerts, list)
    print(f"Machine: {machine()}")
    print(
        f"Replayed {options.sources} sources x {options.days} days ({runs} runs) with "
        f"{len(rule_specs)} default rules, tail {TAIL_HOURS} h, {options.clock} clock"
    )
    print(f"Alerts found: {len(alerts)}")
    for rule, count in sorted(Counter(a["rule"] for a in alerts).items()):
        print(f"  {rule}: {count}")
    print(f"Notifications: {len(result['notifications'])}")  # type: ignore[arg-type]
    print(f"Wall time: {wall:.1f} s ({1000 * wall / runs:.1f} ms per run), goal under 60 s")
    print(f"CPU time of the replay processes: {cpu:.1f} s ({1000 * cpu / runs:.1f} ms per run)")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
