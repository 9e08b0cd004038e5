"""Soak the embedded mode: the Procfile's processes on SQLite, the file-system broker and the file
cache, driven as a demo is used, for hours.

    .venv/bin/python benchmarks/soak.py [--minutes 120] [--push-seconds 10] [--fault-minutes 10]

It sets up a data folder of its own (free ports, its own Dagster home), starts every process of
the Procfile (web, worker, beat, Dagster webserver and daemon; the example pipeline runs every two
minutes), then until the time is up: pushes a run of a pushed source every few seconds, injects
a fault into the example pipeline and clears it again, and acknowledges firing alerts through the
API as an operator would. Every process writes the tasks it published, received and ran to a
ledger (confops/runtime/task_ledger.py). At the end beat is stopped first, the queue drains, and it
prints process exits, tasks published / received / run, lost tasks, messages the broker set
aside, errors in the logs, and the driving it did. It exits 1 if any process died, any task was
lost, or any message or push went wrong: the figures are never printed as if nothing happened.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import requests

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import free_port, machine  # noqa: E402
from confops.runtime import broker, task_ledger  # noqa: E402
from confops.runtime.processes import kill_group, read_procfile  # noqa: E402

BIN = Path(sys.executable).parent
PUSHED_SOURCE = "soak-pushed"
# Faults cycled through the example pipeline: a failing scraper, a count far too low, a slow step.
FAULTS = [["elra_conferences", "--fail"], ["wikicfp_conferences", "--low-count"]]
FAULTS += [["acl_web_conferences", "--delay", "20"]]
# Lines in confops' process logs that mean the machinery broke (fatal) or is worth a look.
FATAL_LOG_LINES = ("Unrecoverable error", "ChannelError", "broker message set aside")
LOG_PROBLEMS = (*FATAL_LOG_LINES, "Traceback")
CONFOPS_PROCESSES = ("web", "worker", "beat")
SETUP_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from monitoring.choices import SourceKind
from monitoring.models import Source
from confops.accounts.models import ApiToken
Source.objects.get_or_create(slug="{slug}", defaults={{"key": "{slug}", "kind": SourceKind.PUSHED}})
admin = get_user_model().objects.get(username="admin")
tokens = {{scope: ApiToken.issue("soak " + scope, [scope], created_by=admin)[1]
          for scope in ("push", "operate")}}
print(json.dumps(tokens))
"""


@dataclass
class Process:
    name: str
    command: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    exits: list[str] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        self.log_file = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            shlex.split(self.command),
            cwd=PROJECT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the process alone (Celery and gunicorn stop their own children), then
        whatever is left of its group is killed."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.exits.append(f"did not stop within {timeout:.0f} s of SIGTERM; killed")
        kill_group(self.popen.pid)
        self.popen.wait(10)


@dataclass
class Driving:
    pushes_ok: int = 0
    pushes_failed: list[str] = field(default_factory=list)
    acknowledged: int = 0
    ack_failed: list[str] = field(default_factory=list)
    faults_set: int = 0
    faults_cleared: int = 0
    ready_failed: list[str] = field(default_factory=list)
    pings_ok: int = 0
    ping_failed: list[str] = field(default_factory=list)


def soak_env(data: Path, web_port: int, dagster_port: int) -> dict[str, str]:
    dagster_home = data / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (data / "ledger").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_"))}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '')}",
        CONFOPS_IGNORE_DOTENV="1",
        DEBUG="true",
        CONFOPS_DATA_DIR=str(data),
        CONFOPS_BIND=f"127.0.0.1:{web_port}",
        CONFOPS_BASE_URL=f"http://127.0.0.1:{web_port}",
        HEARTBEAT_INTERVAL_SECONDS="10",
        TASK_LEDGER_DIR=str(data / "ledger"),
        DAGSTER_HOME=str(dagster_home),
        DAGSTER_WEBSERVER_HOST="127.0.0.1",
        DAGSTER_WEBSERVER_PORT=str(dagster_port),
        CONFRADAR_DEMO="1",
        CONFRADAR_FAULTS_FILE=str(dagster_home / "confradar_faults.json"),
        CONFRADAR_DB=str(dagster_home / "confradar.sqlite3"),
        PYTHONPATH=f"{PROJECT / 'examples' / 'confradar'}:{env.get('PYTHONPATH', '')}",
    )
    for name in ("SECRET_KEY", "CACHE_URL", "EMAIL_URL"):
        env.pop(name, None)
    return env


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"set-up failed: {' '.join(args)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def set_up(env: dict[str, str], data: Path, web_port: int, dagster_port: int) -> dict[str, str]:
    python = str(BIN / "python")
    run(env, python, "manage.py", "migrate", "--no-input", "-v", "0")
    run(env, str(BIN / "dagster"), "instance", "migrate")
    run(
        env,
        python,
        "manage.py",
        "demo_bootstrap",
        "--portal-url",
        f"http://127.0.0.1:{web_port}",
        "--dagster-url",
        f"http://127.0.0.1:{dagster_port}",
        "--dotenv",
        str(data / "soak.env"),
    )
    printed = run(env, python, "manage.py", "shell", "-c", SETUP_SCRIPT.format(slug=PUSHED_SOURCE))
    tokens: dict[str, str] = json.loads(printed.strip().splitlines()[-1])
    return tokens


def procfile_processes(logs: Path) -> list[Process]:
    """The demo's processes, read as its supervisor reads them."""
    children = read_procfile(PROJECT / "Procfile")
    return [Process(c.name, c.command, logs / f"{c.name}.log") for c in children]


class Driver:
    """What a demo's users do: a job pushing runs, an operator, someone injecting faults."""

    def __init__(self, env: dict[str, str], base: str, tokens: dict[str, str]) -> None:
        self.env, self.base, self.tokens = env, base, tokens
        self.driving = Driving()
        self.pushed = 0
        self.fault: list[str] | None = None

    def push(self) -> None:
        self.pushed += 1
        failed = self.pushed % 7 == 0
        body: dict[str, Any] = {
            "run_id": f"soak-{self.pushed}",
            "status": "failure" if failed else "success",
            "at": datetime.now(UTC).isoformat(),
            "duration_s": 1.5,
        }
        if failed:
            body["error"] = "soak: injected failure"
        else:
            body["metrics"] = {"count": 100}
        answer = self._call(
            "post",
            f"/api/v1/sources/{PUSHED_SOURCE}/runs",
            "push",
            body,
            self.driving.pushes_failed,
        )
        self.driving.pushes_ok += answer is not None

    def acknowledge_firing(self) -> None:
        listed = self._call("get", "/api/v1/alerts?state=firing&limit=5", "operate", None, [])
        for alert in (listed or {}).get("results", []):
            path = f"/api/v1/alerts/{alert['id']}/acknowledge"
            answer = requests.post(
                self.base + path,
                json={"note": "soak: on it"},
                headers={"Authorization": f"Bearer {self.tokens['operate']}"},
                timeout=30,
            )
            if answer.status_code == 200:
                self.driving.acknowledged += 1
            elif answer.status_code != 409:  # 409: resolved or acknowledged meanwhile
                self.driving.ack_failed.append(f"{answer.status_code} {answer.text[:200]}")

    def toggle_fault(self) -> None:
        faults = [str(BIN / "python"), "-m", "confradar.faults"]
        if self.fault is None:
            self.fault = FAULTS[self.driving.faults_set % len(FAULTS)]
            run(self.env, *faults, "set", *self.fault)
            self.driving.faults_set += 1
        else:
            run(self.env, *faults, "clear")
            self.fault = None
            self.driving.faults_cleared += 1

    def ready(self) -> None:
        try:
            answer = requests.get(self.base + "/health/ready", timeout=30)
        except requests.RequestException as exc:
            self.driving.ready_failed.append(f"{type(exc).__name__}")
            return
        if answer.status_code != 200:
            self.driving.ready_failed.append(f"{answer.status_code} {answer.text[:200]}")

    def ping_workers(self) -> None:
        """The broadcast behind /health/detailed's worker check, through the broker's fanout."""
        command = [str(BIN / "celery"), "-A", "confops", "inspect", "ping", "--timeout", "5"]
        done = subprocess.run(
            command, cwd=PROJECT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode == 0 and "pong" in done.stdout:
            self.driving.pings_ok += 1
        else:
            self.driving.ping_failed.append(f"exit {done.returncode}: {done.stdout[-200:]}")

    def _call(self, method: str, path: str, scope: str, body: Any, failures: list[str]) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"}
        try:
            answer = requests.request(
                method, self.base + path, json=body, headers=headers, timeout=30
            )
        except requests.RequestException as exc:
            failures.append(f"{path}: {type(exc).__name__}")
            return None
        if answer.status_code >= 300:
            failures.append(f"{path}: {answer.status_code} {answer.text[:200]}")
            return None
        return answer.json()


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def check_processes(processes: list[Process], env: dict[str, str], elapsed: float) -> None:
    """A process that exited is a death: counted, its log tail kept, and started again so the
    soak still measures the rest."""
    for process in processes:
        code = process.exited()
        if code is not None:
            tail = process.log_path.read_text(errors="replace").splitlines()[-15:]
            process.exits.append(
                f"exit {code} at {elapsed / 60:.1f} min:\n      " + "\n      ".join(tail)
            )
            print(f"!! {process.name} exited with {code} at {elapsed / 60:.1f} min", flush=True)
            process.start(env)


def drain(ledger: Path, timeout: float) -> dict[str, dict[str, str]]:
    """Wait until every published task was received (beat is stopped: nothing new comes)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = task_ledger.read(ledger)
        waiting = set(seen[task_ledger.PUBLISHED]) - set(seen[task_ledger.RECEIVED])
        if not waiting or time.monotonic() > deadline:
            return seen
        time.sleep(1)


def log_problems(processes: list[Process]) -> Counter[str]:
    found: Counter[str] = Counter()
    for process in processes:
        if process.name not in CONFOPS_PROCESSES:
            continue  # the example pipeline's tracebacks are the faults the soak injects
        text = process.log_path.read_text(errors="replace")
        for problem in LOG_PROBLEMS:
            if problem in text:
                found[f"{process.name}: {problem}"] += text.count(problem)
    return found


def report(
    processes: list[Process],
    seen: dict[str, dict[str, str]],
    driving: Driving,
    data: Path,
    minutes: float,
) -> bool:
    published, received, ran = (
        seen[e] for e in (task_ledger.PUBLISHED, task_ledger.RECEIVED, task_ledger.RAN)
    )
    lost = set(published) - set(received)
    not_run = set(received) - set(ran)
    rejected = broker.rejected_count(data / "broker")
    problems = log_problems(processes)
    deaths = sum(len(p.exits) for p in processes)
    print(f"\nmachine: {machine()}")
    print(f"soak of the embedded mode: {minutes:.1f} min, data folder {data}")
    print(f"process exits: {deaths}")
    for process in processes:
        for exit_ in process.exits:
            print(f"  {process.name}: {exit_}")
    print(f"tasks published {len(published)}, received {len(received)}, run {len(ran)}")
    for name, count in sorted(Counter(published.values()).items()):
        print(f"  {name:40} {count}")
    print(f"lost (published, never received): {len(lost)}")
    print(f"received, not run (a retry waiting for its time counts here): {len(not_run)}")
    print(f"messages the broker set aside: {rejected}")
    print(f"problems in process logs: {dict(problems) or 'none'}")
    with sqlite3.connect(data / "confops.sqlite3") as db:
        runs = db.execute("SELECT job_name, status, count(*) FROM monitoring_run GROUP BY 1, 2")
        print("runs stored: " + ", ".join(f"{job} {status} {n}" for job, status, n in runs))
        alerts = db.execute("SELECT state, count(*) FROM alerts_alert GROUP BY 1")
        print("alerts: " + ", ".join(f"{state} {n}" for state, n in alerts))
    print(
        f"driving: {driving.pushes_ok} pushed runs accepted, {len(driving.pushes_failed)} refused;"
        f" {driving.acknowledged} alerts acknowledged, {len(driving.ack_failed)} failed;"
        f" {driving.faults_set} faults injected, {driving.faults_cleared} cleared;"
        f" readiness failures {len(driving.ready_failed)};"
        f" worker pings answered {driving.pings_ok}, unanswered {len(driving.ping_failed)}"
    )
    failures = driving.pushes_failed + driving.ack_failed + driving.ready_failed
    failures += driving.ping_failed
    for failure in failures[:10]:
        print(f"  {failure}")
    fatal = [p for p in problems if p.split(": ", 1)[1] in FATAL_LOG_LINES]
    ok = not (deaths or lost or rejected or failures or fatal) and len(published) > 0
    print("RESULT: " + ("ok" if ok else "FAILED"))
    return ok


def soak(args: argparse.Namespace) -> bool:
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="confops-soak-"))
    web_port, dagster_port = free_port(), free_port()
    env = soak_env(data, web_port, dagster_port)
    base = f"http://127.0.0.1:{web_port}"
    tokens = set_up(env, data, web_port, dagster_port)
    processes = procfile_processes(data)
    for process in processes:
        process.start(env)
    started = time.monotonic()
    driver = Driver(env, base, tokens)
    try:
        wait_for(base + "/health", 60)
        wait_for(f"http://127.0.0.1:{dagster_port}/server_info", 120)
        deadline = started + args.minutes * 60
        next_at = {"push": 0.0, "ack": 60.0, "fault": args.fault_minutes * 30, "ready": 0.0}
        next_at["progress"], next_at["ping"] = 600.0, 120.0
        while time.monotonic() < deadline:
            elapsed = time.monotonic() - started
            check_processes(processes, env, elapsed)
            if elapsed >= next_at["push"]:
                driver.push()
                next_at["push"] += args.push_seconds
            if elapsed >= next_at["ack"]:
                driver.acknowledge_firing()
                next_at["ack"] += 60
            if elapsed >= next_at["fault"]:
                driver.toggle_fault()
                next_at["fault"] += args.fault_minutes * 30  # set, then clear half a period later
            if elapsed >= next_at["ping"]:
                driver.ping_workers()
                next_at["ping"] += 300
            if elapsed >= next_at["ready"]:
                driver.ready()
                next_at["ready"] += 30
            if elapsed >= next_at["progress"]:
                seen = task_ledger.read(data / "ledger")
                print(
                    f".. {elapsed / 60:.0f} min: {len(seen['published'])} tasks published, "
                    f"{len(seen['ran'])} run, {sum(len(p.exits) for p in processes)} exits",
                    flush=True,
                )
                next_at["progress"] += 600
            time.sleep(1)
        check_processes(processes, env, time.monotonic() - started)
    finally:
        beat = next(p for p in processes if p.name == "beat")
        beat.stop()
        seen = drain(data / "ledger", timeout=120)
        for process in processes:
            process.stop()
    minutes = (time.monotonic() - started) / 60
    return report(processes, seen, driver.driving, data, minutes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--push-seconds", type=float, default=10, help="between pushed runs")
    parser.add_argument("--fault-minutes", type=float, default=10, help="a fault cycle")
    parser.add_argument("--data-dir", default="", help="default: a new temporary folder")
    args = parser.parse_args()
    sys.exit(0 if soak(args) else 1)


if __name__ == "__main__":
    main()
