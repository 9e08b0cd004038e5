"""The subprocess sandbox: a replay simulates in a child process whose database is a new
temporary SQLite file, so nothing of the replay can touch the configured database, its outbox
or its cache. The child is ``manage.py replay --inner``; the simulated clock is in
``alerts.replay.simulation``, the line format in ``lines``, rule specs in ``specs``."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from alerts.replay.lines import ReplayInputError
from alerts.replay.results import ReplayResult

# The child prints its result after this line, so that stray output cannot be mistaken for it.
RESULT_MARKER = "----- confops replay result -----"
DEFAULT_STEP_SECONDS = 300
DEFAULT_TAIL_HOURS = 48.0
# Set in the child's environment to the sandbox database; --inner refuses to run without it.
SANDBOX_ENV = "CONFOPS_REPLAY_SANDBOX"
SANDBOX_PREFIX = "confops-replay-"


class ReplayFailed(RuntimeError):
    """The child process that simulates failed; the message carries the end of its stderr."""


def sandbox_env(folder: Path, database: Path) -> dict[str, str]:
    """The child's environment: a new SQLite file, a private cache and data folder, no broker.

    Variables set here win over a .env file (django-environ never overwrites the environment).
    """
    env = {k: v for k, v in os.environ.items() if k != "CELERY_TASK_ALWAYS_EAGER"}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "CACHE_URL": "locmemcache://",
            "CONFOPS_DATA_DIR": str(folder / "data"),
            "CELERY_BROKER_URL": "memory://",
            "DJANGO_SETTINGS_MODULE": "confops.settings",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
            SANDBOX_ENV: str(database),
        }
    )
    return env


def run_in_sandbox(
    replay_file: Path,
    rules: Sequence[dict[str, Any]],
    step_s: int = DEFAULT_STEP_SECONDS,
    tail_hours: float = DEFAULT_TAIL_HOURS,
    until: datetime | None = None,
    clock: str = "focused",
    check: Callable[[], None] | None = None,
) -> ReplayResult:
    """Simulate in a child process on a throw-away database and return what it printed.

    ``check``: the parent's own reading of the file, done while the child starts on the other
    core (a month of a fleet takes a second to read); if it raises, the child is stopped and
    the error goes up, as if the child had never started."""
    with tempfile.TemporaryDirectory(prefix=SANDBOX_PREFIX) as tmp:
        folder = Path(tmp)
        rules_file = folder / "rules.json"
        rules_file.write_text(json.dumps(list(rules)), encoding="utf-8")
        database = folder / "replay.sqlite3"
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "replay",
            "--inner",
            "--skip-checks",  # this process ran Django's system checks already (0.5 s)
            str(replay_file.resolve()),
            "--rules",
            str(rules_file),
            "--step",
            str(step_s),
            "--tail",
            str(tail_hours),
            "--clock",
            clock,
        ]
        if until is not None:
            command += ["--until", until.astimezone(UTC).isoformat()]
        template = migrated_template()
        if template.is_file():
            shutil.copyfile(template, database)
        else:
            command += ["--save-template", str(template)]
        child = subprocess.Popen(  # our own interpreter and manage.py, no shell
            command,
            env=sandbox_env(folder, database),
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if check is not None:
                check()
            stdout, stderr = child.communicate()
        except BaseException:
            child.kill()
            child.communicate()
            raise
    return result_of(subprocess.CompletedProcess(command, child.returncode, stdout, stderr))


_templates: dict[str, Path] = {}
_templates_lock = threading.Lock()


def migrated_template() -> Path:
    """Where this process keeps a freshly migrated sandbox database.

    Most of a child's start-up is ``migrate`` rendering some fifty migrations (1.5 s); the
    first child of a process saves its database right after migrating, later children start
    from a copy, and their ``migrate`` has nothing left to apply. The copy lives as long as
    this process, whose code (and so whose migrations) cannot change meanwhile.
    """
    with _templates_lock:
        if "path" not in _templates:
            folder = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}template-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _templates["path"] = folder / "migrated.sqlite3"
        return _templates["path"]


def result_of(done: subprocess.CompletedProcess[str]) -> ReplayResult:
    if done.returncode == 2:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "invalid input"
        raise ReplayInputError(last.removeprefix("CommandError: "))
    marker = done.stdout.rfind(RESULT_MARKER)
    if done.returncode != 0 or marker < 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise ReplayFailed(f"the replay process failed (exit {done.returncode}):\n{tail}")
    return ReplayResult.from_wire(done.stdout[marker + len(RESULT_MARKER) :].strip())
