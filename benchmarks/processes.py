"""A process a benchmark starts: in a process group of its own (a Celery pool child or a
gunicorn worker goes with it), logging to a file, and saying how it died when it did; the
environment it inherits (``configure_confops``) and its PostgreSQL database, made anew."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from confops.runtime.processes import kill_group

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class BenchProcess:
    name: str
    command: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None

    def start(self) -> None:
        """Start it with this process's environment (set it before)."""
        self.log_file = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command,
            cwd=PROJECT,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def died(self) -> str:
        """Empty while it lives; else its exit code and the end of its log."""
        code = None if self.popen is None else self.popen.poll()
        if code is None:
            return ""
        tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
        return f"{self.name} exited with {code}:\n    " + "\n    ".join(tail)

    def stop(self) -> None:
        if self.popen is not None:
            kill_group(self.popen.pid)
            self.popen.wait(10)


def celery_worker(name: str, log_path: Path) -> BenchProcess:
    """A Celery worker of one process (concurrency 1) on every queue, named ``name@host``."""
    command = [str(BIN / "celery"), "-A", "confops", "worker", "--loglevel", "WARNING"]
    return BenchProcess(name, [*command, "--concurrency", "1", "-n", f"{name}@%h"], log_path)


def configure_confops(benchmark: str, data: Path, **settings: str) -> None:
    """This process's environment, which the processes it starts inherit, then Django: confops
    on the data folder ``data`` and the given ``settings`` (``DATABASE_URL`` ...), none of the
    developer's (``.env``, or a URL exported in the shell, never reaches a benchmark)."""
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        CONFOPS_IGNORE_DOTENV="1",
        CONFOPS_DATA_DIR=str(data),
        SECRET_KEY=os.environ.get("SECRET_KEY") or f"benchmark-{benchmark}-not-secret",
        DJANGO_SETTINGS_MODULE="confops.settings",
        **settings,
    )
    import django  # after the environment: settings read it on import

    django.setup()


def recreate_postgres(url: str) -> None:
    """The benchmark's own database, empty (its name is the URL's last part). ``WITH (FORCE)``
    ends the connections a killed process left behind, which would make the drop fail."""
    import psycopg  # only the PostgreSQL benchmarks need the driver

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
