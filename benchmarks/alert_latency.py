"""Failure-to-message latency: confops against the example pipeline's own run-failure sensor.

    .venv/bin/python benchmarks/alert_latency.py [--runs 12] [--brokers redis,filesystem]

One Dagster (webserver + daemon) serves examples/confradar with its ``crawl_failure_sensor`` at
Dagster's default interval (30 s), posting to a local receiver. confops runs as in production:
``manage.py migrate`` on a fresh database, the Procfile's Celery worker and beat processes, the
default rules with a Slack channel (pointing at the same receiver) on 'Run failed'. Per broker:

- ``redis``: PostgreSQL + Redis broker and cache (needs TEST_POSTGRES_URL and TEST_REDIS_URL;
  ``scripts/services.sh start`` starts both);
- ``filesystem``: the embedded defaults (SQLite, file-system broker, file cache).

Each phase launches ``--runs`` failing runs (a random scraper raises), each followed by a clean
run so the alert resolves and the next failure fires anew (the rule's resolve hold is set to 0
for that; nothing else differs from the defaults). Latency is measured from the run's
``endTime`` in Dagster to the arrival of the message at the receiver (same clock). For confops
the stored timestamps split it up: waiting for the next poll, the poll itself, evaluation and
the hand-off to the delivery worker, and the HTTP send.

Targets: confops p95 under 3 s (Redis), confops median at most a fifth of the sensor's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import machine  # noqa: E402

BIN = Path(sys.executable).parent
SCRAPERS = (
    "ai_deadlines_conferences",
    "acl_web_conferences",
    "chairing_tool_conferences",
    "elra_conferences",
    "wikicfp_conferences",
)
RUN_LINK = re.compile(r"/runs/([0-9a-f-]{36})\|Dagster run>")
REDIS_BROKER_DB, REDIS_CACHE_DB = 12, 13  # away from the test suite's 0 and 1


# --- inner commands: run as children with one phase's confops environment --------------------


def inner(command: str, argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confops.settings")
    django.setup()
    commands = {
        "setup": inner_setup,
        "wait": inner_wait,
        "settle": inner_settle,
        "report": inner_report,
    }
    result = commands[command](argv)
    print(json.dumps(result))


def inner_setup(argv: list[str]) -> dict[str, Any]:
    from django.core.management import call_command

    from alerts.models import AlertRule, Channel
    from monitoring.models import Deployment

    graphql_url, ui_url, slack_url = argv
    call_command("migrate", verbosity=0)
    Deployment.objects.create(name="confradar", graphql_url=graphql_url, ui_url=ui_url)
    slack = Channel(name="ops-slack", kind="slack", secret=slack_url)
    slack.full_clean()
    slack.save()
    rule = AlertRule.objects.get(name="Run failed", is_default=True)
    rule.channels.add(slack)
    # Each benchmark failure must be a new incident: the default hold (flapping within 30 min
    # is one incident) would keep a repeat of the same source's failure from firing anew.
    rule.resolve_hold_minutes = 0
    rule.save(update_fields=["resolve_hold_minutes"])
    return {"ok": True}


def inner_settle(argv: list[str]) -> dict[str, Any]:
    """Close the incident of the failure just measured, as its settle time would: lone failures
    are hours apart in production, seconds apart here, and a failure coming back within the
    settle time joins the same incident as a flap (docs/incidents.md), which pages no more."""
    from django.utils import timezone

    from alerts.choices import OPEN_STATES
    from alerts.engine import incidents
    from alerts.models import Alert

    deadline = time.monotonic() + float(argv[0])
    while Alert.objects.filter(state__in=OPEN_STATES, rule__name="Run failed").exists():
        if time.monotonic() > deadline:
            raise SystemExit("the recovery never resolved the 'Run failed' alert")
        time.sleep(0.5)
    closed = incidents.close_due(timezone.now() + timedelta(days=1))
    return {"closed": len(closed)}


def inner_wait(argv: list[str]) -> dict[str, Any]:
    """Until the worker has polled once (discovery done) and the poller runs steadily."""
    from monitoring.models import Deployment, Source

    deadline = time.monotonic() + float(argv[0])
    while time.monotonic() < deadline:
        deployment = Deployment.objects.get(name="confradar")
        if deployment.last_success_at and Source.objects.filter(key__in=SCRAPERS).count() == 5:
            return {"ok": True, "polls": deployment.polls.count()}
        time.sleep(0.5)
    raise SystemExit("the worker never polled Dagster: see the worker and beat logs")


def inner_report(argv: list[str]) -> list[dict[str, Any]]:
    """One line per firing message: the timestamps confops stored on its way."""
    from alerts.models import Notification
    from monitoring.models import PollRecord

    rows = []
    for notification in Notification.objects.filter(event="firing", channel__name="ops-slack"):
        attempt = notification.delivery_attempts.order_by("started_at").last()
        poll = PollRecord.objects.filter(started_at=notification.created_at).first()
        rows.append(
            {
                "run_id": notification.payload["alerts"][0]["run_id"],
                "source": notification.payload["alerts"][0]["subject"],
                "poll_start": notification.created_at.timestamp(),
                "poll_ms": poll.duration_ms if poll else None,
                "attempt_start": attempt.started_at.timestamp() if attempt else None,
                "http_ms": attempt.duration_ms if attempt else None,
                "status": notification.status,
                "attempts": notification.attempts,
            }
        )
    return rows


# --- the orchestrator -------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    env: dict[str, str]
    logs: Path
    cleanup: list[Any] = field(default_factory=list)


def base_env(data_dir: Path) -> dict[str, str]:
    drop = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    env.update(
        CONFOPS_IGNORE_DOTENV="1",
        CONFOPS_DATA_DIR=str(data_dir),
        SECRET_KEY="benchmark",  # noqa: S106 - a throw-away database
        DEBUG="false",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def redis_phase(root: Path) -> Phase:
    import psycopg
    import redis

    pg_url, redis_url = os.environ["TEST_POSTGRES_URL"], os.environ["TEST_REDIS_URL"]
    name = f"confops_latency_{uuid.uuid4().hex[:8]}"
    base, _, _ = pg_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    for db in (REDIS_BROKER_DB, REDIS_CACHE_DB):
        redis.Redis.from_url(f"{redis_url}/{db}").flushdb()
    env = base_env(root / "redis")
    env.update(
        DATABASE_URL=f"{base}/{name}",
        CELERY_BROKER_URL=f"{redis_url}/{REDIS_BROKER_DB}",
        CACHE_URL=f"{redis_url.replace('redis://', 'rediscache://')}/{REDIS_CACHE_DB}",
    )

    def drop() -> None:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return Phase("redis", env, root / "redis", [drop])


def filesystem_phase(root: Path) -> Phase:
    return Phase("filesystem", base_env(root / "filesystem"), root / "filesystem")


def run_inner(phase: Phase, *argv: str) -> Any:
    result = subprocess.run(
        [sys.executable, __file__, "--inner", *argv],
        env=phase.env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"inner {argv[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def procfile(name: str) -> list[str]:
    for line in (PROJECT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].split()
    raise KeyError(name)


def start(phase: Phase, name: str) -> Any:
    from tests.fixtures.dagster import ManagedProcess

    command = procfile(name)
    command[0] = str(BIN / command[0])
    return ManagedProcess.start(
        name, command, env=phase.env, cwd=PROJECT, log_path=phase.logs / f"{name}.log"
    )


def confops_arrival(recorder: Any, path: str, run_id: str) -> float | None:
    for request in recorder.requests:
        if request.path != path:
            continue
        body = request.json()
        text = json.dumps(body)
        found = RUN_LINK.search(text)
        if found and found.group(1) == run_id and "Firing" in body.get("text", ""):
            return float(request.received_at)
    return None


def sensor_arrival(recorder: Any, run_id: str) -> float | None:
    for request in recorder.requests:
        if request.path == "/hooks/dagster" and request.json().get("run_id") == run_id:
            return float(request.received_at)
    return None


def wait_for(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None:
            return value
        time.sleep(0.05)
    return None


def launch_failures(
    server: Any, recorder: Any, phase: Phase, runs: int, rng: random.Random
) -> list[dict[str, Any]]:
    path = f"/slack/{phase.name}"
    failures = []
    for index in range(runs):
        source = rng.choice(SCRAPERS)
        message = f"HTTP 503 Service Unavailable (latency benchmark, {phase.name} run {index})"
        server.set_faults({source: {"fail": True, "message": message}})
        try:
            run_id = server.launch_run("crawl_job", tags={"confops/bench": phase.name})
            run = server.wait_for_run(run_id)
        finally:
            server.clear_faults()
        assert run["status"] == "FAILURE", run
        arrived = wait_for(lambda rid=run_id: confops_arrival(recorder, path, rid), 30)
        failures.append(
            {"run_id": run_id, "source": source, "end": run["endTime"], "confops": arrived}
        )
        shown = f"{arrived - run['endTime']:.2f} s" if arrived else "not arrived in 30 s"
        print(f"  {phase.name} run {index + 1:2d}: {source:<26} confops {shown}", flush=True)
        time.sleep(rng.uniform(0.3, 2.0))  # de-phase from the poll ticks
        server.wait_for_run(server.launch_run("crawl_job"))  # recovery: the alert resolves
        run_inner(phase, "settle", "30")
        time.sleep(rng.uniform(4.0, 6.0))
    return failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats_line(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | no data | | | | |"
    return (
        f"| {label} | {min(values):.2f} s | {statistics.median(values):.2f} s | "
        f"{percentile(values, 0.95):.2f} s | {max(values):.2f} s | {len(values)} |"
    )


def task_ends(worker_log: Path) -> list[float]:
    """End times of poll tasks, from the worker's JSON log (Celery's 'succeeded in' lines)."""
    ends = []
    for line in worker_log.read_text(errors="replace").splitlines():
        if "monitoring.poll_deployment" not in line or "succeeded in" not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        ends.append(datetime.fromisoformat(record["time"]).timestamp())
    return sorted(ends)


def breakdown(
    failures: list[dict[str, Any]], report: list[dict[str, Any]], worker_log: Path
) -> dict[str, list[float]]:
    """Where the time goes, per failing run, from the stored timestamps (seconds)."""
    by_run = {row["run_id"]: row for row in report}
    ends = task_ends(worker_log)
    parts: dict[str, list[float]] = {
        "wait for the next poll": [],
        "poll (GraphQL, store)": [],
        "evaluation + commit": [],
        "broker hand-off": [],
        "HTTP send": [],
    }
    for failure in failures:
        row = by_run.get(failure["run_id"])
        if not row or row["attempt_start"] is None or row["poll_ms"] is None:
            continue
        poll_end = row["poll_start"] + row["poll_ms"] / 1000
        task_end = next((t for t in ends if t >= poll_end), None)
        if task_end is None or task_end > row["attempt_start"] + 1:
            task_end = row["attempt_start"]
        parts["wait for the next poll"].append(row["poll_start"] - failure["end"])
        parts["poll (GraphQL, store)"].append(row["poll_ms"] / 1000)
        parts["evaluation + commit"].append(max(task_end - poll_end, 0.0))
        parts["broker hand-off"].append(max(row["attempt_start"] - task_end, 0.0))
        parts["HTTP send"].append(row["http_ms"] / 1000)
    return parts


def run_phase(
    phase: Phase, server: Any, recorder: Any, runs: int, rng: random.Random
) -> dict[str, Any]:
    phase.logs.mkdir(parents=True, exist_ok=True)
    slack_url = f"http://127.0.0.1:{recorder._server.server_address[1]}/slack/{phase.name}"
    run_inner(phase, "setup", server.graphql_url, server.base_url, slack_url)
    processes = [start(phase, "worker"), start(phase, "beat")]
    try:
        run_inner(phase, "wait", "120")
        time.sleep(3)  # past the first polls' catch-up of history
        failures = launch_failures(server, recorder, phase, runs, rng)
        report = run_inner(phase, "report")
        # A process that died during the phase makes its figures meaningless: said, then failed.
        died = [f"{p.name} (exit {p.proc.poll()})" for p in processes if p.proc.poll() is not None]
    finally:
        for process in processes:
            process.stop()
    return {
        "failures": failures,
        "report": report,
        "worker_log": phase.logs / "worker.log",
        "died": died,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=12, help="failing runs per broker")
    parser.add_argument("--brokers", default="redis,filesystem")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--inner", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner[0], args.inner[1:])
        return

    from tests.fixtures.dagster import (
        WebhookRecorder,
        start_dagster_daemon,
        start_dagster_webserver,
    )

    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="confops-bench-latency-"))
    wanted = [b.strip() for b in args.brokers.split(",") if b.strip()]
    has_services = bool(os.environ.get("TEST_POSTGRES_URL") and os.environ.get("TEST_REDIS_URL"))
    if "redis" in wanted and not has_services:
        print("redis phase skipped: set TEST_POSTGRES_URL and TEST_REDIS_URL")
        wanted.remove("redis")
    print(f"machine: {machine()}\nlogs: {root}")
    recorder = WebhookRecorder().start()
    server = start_dagster_webserver(root / "dagster_home", sensor_interval_s=None)
    daemon = None
    results: dict[str, dict[str, Any]] = {}
    phases = [redis_phase(root) if name == "redis" else filesystem_phase(root) for name in wanted]
    try:
        daemon = start_dagster_daemon(server, recorder)
        tick = daemon.wait_for_sensor_tick("crawl_failure_sensor", timeout=120)
        print(f"sensor ticking (first tick {tick['status']}); {args.runs} failing runs per broker")
        for phase in phases:
            results[phase.name] = run_phase(phase, server, recorder, args.runs, rng)
        every = [f for r in results.values() for f in r["failures"]]
        print("waiting for the sensor's alerts (it ticks every 30 s) ...", flush=True)
        wait_for(
            lambda: (
                None if any(sensor_arrival(recorder, f["run_id"]) is None for f in every) else True
            ),
            120,
        )
        print_results(results, recorder)
        problems = failed_phases(results)
        if problems:
            raise SystemExit("FAILED, the figures above do not count:\n  " + "\n  ".join(problems))
    finally:
        if daemon is not None:
            daemon.process.stop()
        server.process.stop()
        recorder.stop()
        for phase in phases:
            for cleanup in phase.cleanup:
                cleanup()


def failed_phases(results: dict[str, dict[str, Any]]) -> list[str]:
    """A lost process or a message that never arrived fails the benchmark."""
    problems = []
    for name, result in results.items():
        if result["died"]:
            problems.append(f"{name} phase: died during the phase: {', '.join(result['died'])}")
        lost = [f["run_id"] for f in result["failures"] if not f["confops"]]
        if lost:
            problems.append(f"{name} phase: {len(lost)} failures never reached the receiver")
    return problems


def print_results(results: dict[str, dict[str, Any]], recorder: Any) -> None:
    print("\n| path | min | median | p95 | max | runs |\n|---|---|---|---|---|---|")
    medians = {}
    for name, result in results.items():
        failures = result["failures"]
        confops = [f["confops"] - f["end"] for f in failures if f["confops"]]
        sensor = [
            arrival - f["end"]
            for f in failures
            if (arrival := sensor_arrival(recorder, f["run_id"])) is not None
        ]
        print(stats_line(f"confops ({name} broker)", confops))
        print(stats_line(f"Dagster sensor, same runs ({name} phase)", sensor))
        if confops and sensor:
            medians[name] = statistics.median(confops) / statistics.median(sensor)
    for name, ratio in medians.items():
        print(f"\nratio of medians, confops ({name}) / sensor: {ratio:.3f} (target <= 0.2)")
    for name, result in results.items():
        parts = breakdown(result["failures"], result["report"], result["worker_log"])
        print(f"\nwhere confops' time goes ({name} broker), per failing run:")
        print("| part | min | median | p95 | max | runs |\n|---|---|---|---|---|---|")
        for label, values in parts.items():
            print(stats_line(label, values))
        lost = [f["run_id"] for f in result["failures"] if not f["confops"]]
        if lost:
            print(f"not arrived within 30 s: {lost}")


if __name__ == "__main__":
    main()
