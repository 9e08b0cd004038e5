"""Fault injection without code changes: a JSON file plus environment variables, read per step.

Steps read the faults when they run (never at import), so a demo or a test can break the next
run of a live deployment by writing a file. A missing or malformed file never breaks a healthy
run: problems become warnings in the step log.

File (``CONFRADAR_FAULTS_FILE``, default ``$DAGSTER_HOME/confradar_faults.json``)::

    {"elra_conferences": {"fail": true, "message": "...", "error_type": "ConnectionError",
                          "count_factor": 0.05, "delay_s": 3, "duplicates": 10,
                          "missing_fields": 5},
     "*": {"delay_s": 1}}

Environment (added on top of the file; comma-separated lists)::

    CONFRADAR_FAIL=elra_conferences,wikicfp_conferences   CONFRADAR_FAIL_MESSAGE="..."
    CONFRADAR_LOW_COUNT=acl_web_conferences[:0.05]        CONFRADAR_SLOW=elra_conferences:3
    CONFRADAR_DUPLICATES=elra_conferences:10              CONFRADAR_MISSING_FIELDS=name:5

CLI: ``python -m confradar.faults set elra_conferences --fail`` / ``clear`` / ``show``. With
neither variable set (a new shell), the CLI edits the file of confops's demo, which keeps its
Dagster instance in ``var/dagster`` of the repository holding this example.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confradar.records import (
    REQUIRED_FIELDS,
    SOURCES,
    STORE_ASSET,
    STORE_FAILURE_MESSAGE,
    Record,
)

FAULTS_FILE_ENV = "CONFRADAR_FAULTS_FILE"
FAULTS_FILE_NAME = "confradar_faults.json"
# Where confops's `make demo` keeps this pipeline's DAGSTER_HOME: var/dagster in the repository
# that holds examples/confradar. Only the CLI falls back to it; steps read what their
# environment names, so a run outside the demo never picks up the demo's faults.
DEMO_FAULTS_FILE = Path(__file__).resolve().parents[3] / "var" / "dagster" / FAULTS_FILE_NAME
ALL_ASSETS = "*"
# Not an asset, but faults can target it too: its ticks fail on demand (see registry.py).
REGISTRY_SENSOR = "source_registry_sensor"
KNOWN_ASSETS: tuple[str, ...] = (*SOURCES, STORE_ASSET, REGISTRY_SENSOR)

DEFAULT_LOW_COUNT_FACTOR = 0.05
DEFAULT_SLOW_SECONDS = 5.0
DEFAULT_DUPLICATES = 10
DEFAULT_MISSING_FIELDS = 5

ERROR_TYPES: dict[str, Callable[[str], Exception]] = {
    "ConnectionError": ConnectionError,
    "TimeoutError": TimeoutError,
    "RuntimeError": RuntimeError,
    "ValueError": ValueError,
    "PermissionError": PermissionError,
    "OSError": OSError,
    "OperationalError": sqlite3.OperationalError,
}


@dataclass(frozen=True)
class AssetFaults:
    """Faults for one asset; the defaults mean "healthy"."""

    fail: bool = False
    message: str | None = None
    error_type: str | None = None
    count_factor: float = 1.0
    delay_s: float = 0.0
    duplicates: int = 0
    missing_fields: int = 0

    @property
    def active(self) -> bool:
        return self != AssetFaults()

    def describe(self) -> str:
        changed = {k: v for k, v in asdict(self).items() if v != getattr(AssetFaults(), k)}
        return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "none"


@dataclass
class FaultPlan:
    """All faults for a run (validated knobs per asset), plus the warnings met reading them."""

    knobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    file: Path | None = None

    def for_asset(self, name: str) -> AssetFaults:
        """Faults for ``name``: the ``"*"`` entry, overridden by the asset's own entry."""
        return AssetFaults(**{**self.knobs.get(ALL_ASSETS, {}), **self.knobs.get(name, {})})

    @property
    def faults(self) -> dict[str, AssetFaults]:
        return {name: self.for_asset(name) for name in self.knobs}


# Each knob: (file key, parser). Parsers raise ValueError/TypeError on bad input.
def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _as_factor(value: Any) -> float:
    number = float(value)
    if not 0 <= number <= 10:
        raise ValueError(f"count_factor must be between 0 and 10, got {number}")
    return number


def _as_seconds(value: Any) -> float:
    number = float(value)
    if not 0 <= number <= 3600:
        raise ValueError(f"delay_s must be between 0 and 3600, got {number}")
    return number


def _as_count(value: Any) -> int:
    if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return int(value)


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _as_error_type(value: Any) -> str:
    if value not in ERROR_TYPES:
        raise ValueError(f"error_type must be one of {sorted(ERROR_TYPES)}, got {value!r}")
    return str(value)


_KNOBS: dict[str, Callable[[Any], Any]] = {
    "fail": _as_bool,
    "message": _as_text,
    "error_type": _as_error_type,
    "count_factor": _as_factor,
    "delay_s": _as_seconds,
    "duplicates": _as_count,
    "missing_fields": _as_count,
}


def faults_file_path(env: Mapping[str, str] | None = None) -> Path | None:
    """Where the faults file lives: ``CONFRADAR_FAULTS_FILE``, else under ``DAGSTER_HOME``."""
    env = os.environ if env is None else env
    if env.get(FAULTS_FILE_ENV):
        return Path(env[FAULTS_FILE_ENV]).expanduser()
    if env.get("DAGSTER_HOME"):
        return Path(env["DAGSTER_HOME"]).expanduser() / FAULTS_FILE_NAME
    return None


def _merge(plan: FaultPlan, name: str, knobs: Mapping[str, Any], origin: str) -> None:
    if name != ALL_ASSETS and name not in KNOWN_ASSETS:
        plan.warnings.append(f"{origin}: ignoring unknown asset {name!r}")
        return
    changes = plan.knobs.setdefault(name, {})
    for key, raw in knobs.items():
        parser = _KNOBS.get(key)
        if parser is None:
            plan.warnings.append(f"{origin}: ignoring unknown knob {key!r} for {name}")
            continue
        try:
            changes[key] = parser(raw)
        except (TypeError, ValueError) as exc:
            plan.warnings.append(f"{origin}: ignoring {name}.{key}: {exc}")


def read_faults_file(path: Path, plan: FaultPlan) -> None:
    """Merge a faults file into ``plan``; anything wrong with it becomes a warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        plan.warnings.append(f"cannot read faults file {path}: {exc}")
        return
    if not text.strip():
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        plan.warnings.append(f"faults file {path} is not valid JSON ({exc}); ignoring it")
        return
    if not isinstance(data, dict):
        plan.warnings.append(f"faults file {path} must hold a JSON object; ignoring it")
        return
    for name, knobs in data.items():
        if not isinstance(knobs, dict):
            plan.warnings.append(f"faults file {path}: entry {name!r} is not an object")
            continue
        _merge(plan, name, knobs, f"faults file {path}")


def _entries(value: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in value.split(","):
        item = item.strip()
        if item:
            name, sep, arg = item.partition(":")
            out.append((name.strip(), arg.strip() if sep else None))
    return out


def read_env_faults(env: Mapping[str, str], plan: FaultPlan) -> None:
    """Merge the ``CONFRADAR_*`` fault variables into ``plan`` (they win over the file)."""
    message = env.get("CONFRADAR_FAIL_MESSAGE") or None
    for name, _ in _entries(env.get("CONFRADAR_FAIL", "")):
        knobs: dict[str, Any] = {"fail": True}
        if message:
            knobs["message"] = message
        _merge(plan, name, knobs, "CONFRADAR_FAIL")
    simple = (
        ("CONFRADAR_LOW_COUNT", "count_factor", DEFAULT_LOW_COUNT_FACTOR),
        ("CONFRADAR_SLOW", "delay_s", DEFAULT_SLOW_SECONDS),
        ("CONFRADAR_DUPLICATES", "duplicates", DEFAULT_DUPLICATES),
        ("CONFRADAR_MISSING_FIELDS", "missing_fields", DEFAULT_MISSING_FIELDS),
    )
    for var, knob, default in simple:
        for name, arg in _entries(env.get(var, "")):
            _merge(plan, name, {knob: default if arg is None else arg}, var)


def load_plan(env: Mapping[str, str] | None = None) -> FaultPlan:
    """Read the faults file and environment now; call this inside a step, not at import."""
    env = os.environ if env is None else env
    plan = FaultPlan(file=faults_file_path(env))
    if plan.file is not None:
        read_faults_file(plan.file, plan)
    read_env_faults(env, plan)
    return plan


def build_error(name: str, faults: AssetFaults) -> Exception:
    """The exception a broken scraper (or store) would raise, realistic unless overridden."""
    spec = SOURCES.get(name)
    default_message = spec.failure_message if spec else STORE_FAILURE_MESSAGE
    default_type = spec.error_type if spec else "OperationalError"
    factory = ERROR_TYPES[faults.error_type or default_type]
    return factory(faults.message or default_message)


def apply_step_faults(
    name: str, faults: AssetFaults, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Slow the step down and/or make it raise, as a flaky site would (slow, then fail)."""
    if faults.delay_s > 0:
        sleep(faults.delay_s)
    if faults.fail:
        raise build_error(name, faults)


def apply_record_faults(
    records: list[Record], faults: AssetFaults, rng: random.Random | None = None
) -> list[Record]:
    """Add duplicate records and blank required fields, like a buggy parser would."""
    rng = rng or random.Random()
    out = [dict(r) for r in records]
    if faults.duplicates and out:
        out.extend(dict(rng.choice(out)) for _ in range(faults.duplicates))
    if faults.missing_fields and out:
        for record in rng.sample(out, min(faults.missing_fields, len(out))):
            record[rng.choice(REQUIRED_FIELDS)] = None
    return out


# --- file editing and CLI -------------------------------------------------------------------


def read_raw(path: Path) -> dict[str, dict[str, Any]]:
    """The faults file as written (an unreadable file reads as empty)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_raw(path: Path, data: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the faults file atomically, so a step never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m confradar.faults",
        description="Edit the ConfRadar faults file read by every step of the next run.",
    )
    parser.add_argument(
        "--file",
        type=Path,
        help=f"faults file (default: ${FAULTS_FILE_ENV}, else $DAGSTER_HOME/{FAULTS_FILE_NAME}, "
        f"else the demo's {DEMO_FAULTS_FILE})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    set_cmd = sub.add_parser("set", help="add or change faults for one asset")
    set_cmd.add_argument("asset", help=f"one of {', '.join(KNOWN_ASSETS)} or '*'")
    set_cmd.add_argument("--fail", action="store_true", help="raise an error in the step")
    set_cmd.add_argument("--message", help="custom error message (implies --fail)")
    set_cmd.add_argument("--error-type", choices=sorted(ERROR_TYPES), help="exception class")
    set_cmd.add_argument("--count-factor", type=float, help="multiply the record count")
    set_cmd.add_argument(
        "--low-count",
        action="store_true",
        help=f"shorthand for --count-factor {DEFAULT_LOW_COUNT_FACTOR}",
    )
    set_cmd.add_argument("--delay", type=float, dest="delay_s", help="sleep this many seconds")
    set_cmd.add_argument("--duplicates", type=int, help="append this many duplicate records")
    set_cmd.add_argument("--missing-fields", type=int, help="blank a required field in N records")
    clear_cmd = sub.add_parser("clear", help="remove faults (all, or for the assets named)")
    clear_cmd.add_argument("assets", nargs="*")
    sub.add_parser("show", help="print the effective faults (file and environment)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m confradar.faults``."""
    args = _parser().parse_args(argv)
    path = args.file or faults_file_path() or DEMO_FAULTS_FILE
    data = read_raw(path)
    if args.command == "show":
        env = dict(os.environ, **{FAULTS_FILE_ENV: str(path)})
        plan = load_plan(env)
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"# {path}")
        for name, faults in sorted(plan.faults.items()):
            print(f"{name}: {faults.describe()}")
        return 0
    if args.command == "clear":
        for name in args.assets or list(data):
            data.pop(name, None)
    else:
        if args.asset != ALL_ASSETS and args.asset not in KNOWN_ASSETS:
            print(
                f"unknown asset {args.asset!r}; known: {', '.join(KNOWN_ASSETS)}", file=sys.stderr
            )
            return 2
        entry = data.setdefault(args.asset, {})
        if args.fail or args.message:
            entry["fail"] = True
        if args.message:
            entry["message"] = args.message
        if args.error_type:
            entry["error_type"] = args.error_type
        if args.low_count:
            entry["count_factor"] = DEFAULT_LOW_COUNT_FACTOR
        for knob in ("count_factor", "delay_s", "duplicates", "missing_fields"):
            if getattr(args, knob) is not None:
                entry[knob] = getattr(args, knob)
    write_raw(path, data)
    print(f"wrote {path}: {json.dumps(data, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
