"""A process a benchmark starts: in a process group of its own (a Celery pool child or a
gunicorn worker goes with it), logging to a file, and saying how it died when it did."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
