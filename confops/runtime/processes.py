"""The demo's process supervisor: runs the Procfile, restarts a process that dies, tells.

    python -m confops.runtime.processes [Procfile]

honcho stopped every process when one died, and nobody was told. Here a process that exits is
started again (after 1 s, doubling up to 30 s while it keeps dying young), each death and restart
is logged with the exit status and the last lines the process printed, and the state is written to
``<CONFOPS_DATA_DIR>/processes.json``, which ``/health/detailed`` shows. A process that dies five
times within two minutes is not going to recover by itself (a port in use, a broken setting): the
supervisor then stops everything and says which process died and why. Ctrl-C stops everything.

Kept free of Django: it starts before the portal and must outlive a broken settings module.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

STATE_FILE = "processes.json"
FIRST_DELAY, MAX_DELAY = 1.0, 30.0
# Dying this often within this many seconds is a crash loop: the supervisor gives up.
CRASH_LOOP_DEATHS, CRASH_LOOP_SECONDS = 5, 120.0
# A process that ran this long died of something new: its restart delay starts over.
HEALTHY_AFTER_SECONDS = 60.0
STOP_TIMEOUT = 15.0
COLOURS = ["36", "33", "32", "35", "34", "31"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Exit:
    code: int | None
    signal: str
    at: str
    last_lines: list[str]


@dataclass
class Child:
    name: str
    command: str
    colour: str
    restarts: int = 0
    pid: int | None = None
    started_at: str = ""
    running: bool = False
    last_exit: Exit | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started: float = field(default=0.0, repr=False)
    delay: float = field(default=FIRST_DELAY, repr=False)
    restart_at: float | None = field(default=None, repr=False)
    deaths: deque[float] = field(default_factory=deque, repr=False)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=20), repr=False)

    def public(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "running": self.running,
            "started_at": self.started_at,
            "restarts": self.restarts,
            "last_exit": asdict(self.last_exit) if self.last_exit else None,
        }


def read_procfile(path: Path) -> list[Child]:
    children = []
    for number, line in enumerate(path.read_text().splitlines()):
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            children.append(Child(name.strip(), command.strip(), COLOURS[number % len(COLOURS)]))
    return children


def describe(code: int) -> tuple[int | None, str]:
    """Popen's return code: negative for a signal."""
    if code < 0:
        return None, signal.Signals(-code).name
    return code, ""


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The supervisor's last written state, or None outside the demo (no supervisor)."""
    try:
        state: dict[str, Any] = json.loads((data_dir / STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    state["supervisor_alive"] = pid_alive(int(state.get("supervisor_pid") or 0))
    return state


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Supervisor:
    def __init__(self, children: list[Child], state_path: Path, out: IO[str] = sys.stdout):
        self.children = children
        self.state_path = state_path
        self.out = out
        self.lock = threading.Lock()
        self.stopping = False
        self.width = max(len(c.name) for c in children)

    def say(self, name: str, colour: str, line: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        with self.lock:
            self.out.write(f"\033[{colour}m{stamp} {name:<{self.width}} |\033[0m {line}\n")
            self.out.flush()

    def start(self, child: Child) -> None:
        child.popen = subprocess.Popen(
            shlex.split(child.command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child.pid, child.running = child.popen.pid, True
        child.started, child.started_at, child.restart_at = time.monotonic(), utc_now(), None
        threading.Thread(target=self.relay, args=(child, child.popen), daemon=True).start()
        self.say("system", "1", f"{child.name} started with pid {child.pid}")
        self.write_state()

    def relay(self, child: Child, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdout is not None
        for raw in popen.stdout:
            line = raw.decode(errors="replace").rstrip()
            child.tail.append(line)
            self.say(child.name, child.colour, line)

    def reap(self, child: Child) -> str | None:
        """Notice a dead child, plan its restart; returns why to give up on a crash loop."""
        if child.popen is None or not child.running or child.popen.poll() is None:
            return None
        time.sleep(0.2)  # let the relay thread print the last lines first
        kill_group(child.popen.pid)
        code, sig = describe(child.popen.returncode)
        now = time.monotonic()
        child.running = False
        child.last_exit = Exit(code, sig, utc_now(), list(child.tail)[-10:])
        if now - child.started > HEALTHY_AFTER_SECONDS:
            child.delay = FIRST_DELAY
        child.deaths.append(now)
        while child.deaths and now - child.deaths[0] > CRASH_LOOP_SECONDS:
            child.deaths.popleft()
        how = f"signal {sig}" if sig else f"status {code}"
        self.write_state()
        if len(child.deaths) >= CRASH_LOOP_DEATHS:
            return (
                f"{child.name} died {len(child.deaths)} times within {CRASH_LOOP_SECONDS:.0f} s "
                f"(last: {how}); its last lines:\n  " + "\n  ".join(child.tail)
            )
        child.restart_at = now + child.delay
        self.say("system", "31;1", f"{child.name} died ({how}); restarting in {child.delay:.0f} s")
        child.delay = min(child.delay * 2, MAX_DELAY)
        return None

    def run(self) -> int:
        for child in self.children:
            self.start(child)
        while not self.stopping:
            for child in self.children:
                fatal = self.reap(child)
                if fatal:
                    self.say("system", "31;1", f"giving up: {fatal}")
                    self.stop_all()
                    return 1
                if child.restart_at is not None and time.monotonic() >= child.restart_at:
                    child.restarts += 1
                    self.start(child)
            time.sleep(0.5)
        self.stop_all()
        return 0

    def stop_all(self) -> None:
        """SIGTERM to each process alone (Celery and gunicorn stop their own children; a signal
        to the whole group would kill a worker's pool under it), then what is left is killed."""
        self.stopping = True
        for child in self.children:
            if child.popen is not None and child.popen.poll() is None:
                child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self.children:
            if child.popen is None:
                continue
            try:
                child.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("system", "31;1", f"{child.name} did not stop in {STOP_TIMEOUT:.0f} s")
            kill_group(child.popen.pid)
            child.popen.wait()
            child.running = False
        self.write_state()
        self.say("system", "1", "every process stopped")

    def write_state(self) -> None:
        state = {
            "supervisor_pid": os.getpid(),
            "updated_at": utc_now(),
            "processes": {c.name: c.public() for c in self.children},
        }
        staged = self.state_path.with_suffix(".tmp")
        staged.write_text(json.dumps(state, indent=1))
        os.replace(staged, self.state_path)


def kill_group(pid: int) -> None:
    """What a dead process leaves behind (a gunicorn worker holding the port, a pool child)
    must not outlive it: the next start would collide with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    procfile = Path(argv[0] if argv else "Procfile")
    data_dir = Path(os.environ.get("CONFOPS_DATA_DIR", "var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(read_procfile(procfile), data_dir / STATE_FILE)

    def stop(signum: int, _: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
