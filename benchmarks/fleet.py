"""confops watching a simulated Dagster fleet on PostgreSQL and Redis: poll lag, failure-to-message
and the idle evaluation pass at several fleet sizes, optionally while processes are killed.

    .venv/bin/python benchmarks/fleet.py [--deployments 25,50,100] [--assets 100]
        [--database-url postgresql://.../confops_fleet] [--broker-url redis://.../0]
        [--cache-url redis://.../1] [--window 240] [--json out.json] [--plot docs/images/fleet.svg]
        [--chaos 1800 --kill-every 180]

Without URLs it takes ``TEST_POSTGRES_URL`` and ``TEST_REDIS_URL`` (``bash scripts/services.sh
start && source /tmp/confops-services/env.sh``).
For each size it makes the database anew, starts the fleet simulator (``tests/fixtures/
fleet_sim.py``) in this process, a webhook receiver that records every delivery, and the real
processes: ``celery beat`` and ``--workers`` Celery worker processes (concurrency 1, every queue),
plus gunicorn with ``--chaos``. Every deployment is polled every ``--poll-interval`` seconds;
every job runs hourly, half of them in the first minute of the hour (the top-of-the-hour
burst), ``--failure-rate`` of the runs fail. The simulator's hour is phased (its schedules'
cron too) so that the burst begins one minute into the measured window, which starts
``--warmup`` seconds after the start, once every deployment has been polled.

Figures, per size: poll lag (a run's end to confops storing it with its details: the stored
run's last save, ``Run.updated_at``),
failure-to-message (a failed run's end to the first delivery naming its run at the receiver),
the idle time-based evaluation pass (``evaluation.evaluate_due`` with nothing due, after the
workers stop), CPU seconds of the workers and beat, database size and Redis memory. With
``--chaos`` the window lasts that long and a random worker, beat or web process is killed
(SIGKILL, by process group) every ``--kill-every`` seconds (+-50 %) and restarted; it then
counts runs lost, failed runs without an alert and deliveries received twice.

It exits 1 when a process died outside the chaos, the warm-up did not finish, or a run or an
alert was lost: figures are never printed as if nothing happened.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import machine  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    BIN,
    BenchProcess,
    configure_confops,
    recreate_postgres,
)
from confops.runtime.processes import kill_group  # noqa: E402
from tests.fixtures.fleet_sim import FleetConfig, FleetSimulator  # noqa: E402
from tests.fixtures.http import serving  # noqa: E402

HOUR = 3600.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the receiver -------------------------------------------------------------------------------


@dataclass
class Receiver:
    """Every webhook delivery: when it came, its outbox id and the runs its alerts name."""

    deliveries: list[tuple[float, str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, delivery_id: str, body: bytes) -> None:
        arrived = time.time()
        try:
            runs = [a.get("run_id") or "" for a in json.loads(body).get("alerts") or []]
        except ValueError:
            runs = []
        with self.lock:
            self.deliveries.append((arrived, delivery_id, runs))

    def first_arrival(self) -> dict[str, float]:
        """Each run id's first delivery."""
        first: dict[str, float] = {}
        for arrived, _, runs in sorted(self.deliveries):
            for run_id in runs:
                first.setdefault(run_id, arrived)
        return first

    def doubled(self) -> int:
        counts = Counter(delivery_id for _, delivery_id, _ in self.deliveries)
        return sum(n - 1 for n in counts.values() if n > 1)


def running_receiver(receiver: Receiver) -> Any:
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.record(self.headers.get("X-Confops-Delivery", ""), body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return serving(Handler, stop)


# --- processes ----------------------------------------------------------------------------------


@dataclass
class Process(BenchProcess):
    """A confops process the chaos may kill and restart; its CPU is summed over its process
    group (a Celery worker's pool child included) and kept across restarts."""

    cpu_before: float = 0.0
    kills: int = 0

    def cpu_seconds(self) -> float:
        return self.cpu_before + (group_cpu(self.popen.pid) if self.popen else 0.0)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would; the CPU so far is kept."""
        if self.popen is not None:
            self.cpu_before += group_cpu(self.popen.pid)
            kill_group(self.popen.pid)
            self.popen.wait(10)
            self.kills += 1

    def stop(self) -> None:
        """SIGTERM to the group (a worker finishes its task), SIGKILL after 20 s."""
        if self.popen is not None and self.popen.poll() is None:
            self.cpu_before += group_cpu(self.popen.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                kill_group(self.popen.pid)
                self.popen.wait(10)
        if self.log_file is not None:
            self.log_file.close()


def group_cpu(pgid: int) -> float:
    """User + system CPU seconds of the live processes in a process group (from /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ... utime stime
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def confops_processes(args: argparse.Namespace, data: Path) -> list[Process]:
    celery = [str(BIN / "celery"), "-A", "confops"]
    processes = [Process("beat", [*celery, "beat", "--loglevel", "WARNING"], data / "beat.log")]
    for n in range(1, args.workers + 1):
        worker = [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "1"]
        processes.append(Process(f"worker{n}", [*worker, "-n", f"fleet{n}@%h"], data / f"w{n}.log"))
    if args.chaos:
        web = [str(BIN / "gunicorn"), "confops.wsgi:application"]
        processes.append(
            Process("web", [*web, "--config", "confops/gunicorn_conf.py"], data / "web.log")
        )
    return processes


# --- the confops side ---------------------------------------------------------------------------


def services(args: argparse.Namespace) -> None:
    """PostgreSQL and Redis URLs from the flags, else from scripts/services.sh's variables."""
    postgres, redis = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    if not args.database_url:
        if not postgres:
            raise SystemExit("FAILED: no --database-url: source /tmp/confops-services/env.sh")
        args.database_url = postgres.rsplit("/", 1)[0] + "/confops_fleet"
    if not args.broker_url or not args.cache_url:
        if not redis:
            raise SystemExit("FAILED: no --broker-url: source /tmp/confops-services/env.sh")
        args.broker_url = args.broker_url or redis + "/10"
        args.cache_url = args.cache_url or redis + "/11"


def configure(args: argparse.Namespace, data: Path) -> None:
    configure_confops(
        "fleet",
        data,
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        CACHE_URL=args.cache_url,
        CONFOPS_BIND=f"127.0.0.1:{args.web_port}",
        WEB_CONCURRENCY="1",
    )


def fresh_stores(args: argparse.Namespace) -> None:
    """A new database (its name is the URL's last part), migrated; empty Redis databases."""
    import redis
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    recreate_postgres(args.database_url)
    for url in (args.broker_url, args.cache_url):
        redis.Redis.from_url(url).flushdb()
    call_command("migrate", verbosity=0)


def set_up(sim: FleetSimulator, receiver_url: str, poll_interval: int) -> None:
    """One default webhook channel (so every default rule reaches it) and the deployments."""
    from django.utils import timezone

    from alerts.models import Channel
    from alerts.operations import save_channel
    from monitoring.models import Deployment
    from monitoring.operations import save_deployment

    now = timezone.now()
    hook = Channel(name="fleet receiver", kind="webhook", config={"url": receiver_url + "/hook"})
    hook.min_severity = "info"
    save_channel(hook, None, now, actor_label="benchmark")
    for name in sim.names:
        deployment = Deployment(
            name=name, graphql_url=sim.url_for(name), poll_interval_seconds=poll_interval
        )
        save_deployment(deployment, None, now, actor_label="benchmark")


def polled_everywhere(deployments: int) -> bool:
    from monitoring.models import Deployment

    return Deployment.objects.filter(last_success_at__isnull=False).count() == deployments


# --- one size -----------------------------------------------------------------------------------


@dataclass
class Figures:
    deployments: int
    sources: int
    runs_ended: int = 0
    runs_stored: int = 0
    poll_lag_p50: float = 0.0
    poll_lag_p95: float = 0.0
    poll_lag_max: float = 0.0
    failed_runs: int = 0
    failed_with_alert: int = 0
    failed_in_message: int = 0
    failed_joined_paged: int = 0
    update_max: float = 0.0
    message_p50: float = 0.0
    message_p95: float = 0.0
    message_max: float = 0.0
    deliveries: int = 0
    doubled: int = 0
    idle_pass_s: float = 0.0
    idle_pass_judged: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)
    database_mb: float = 0.0
    runs_in_database: int = 0
    redis_peak_mb: float = 0.0
    warmup_s: float = 0.0
    window_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_size(args: argparse.Namespace, deployments: int) -> Figures:
    data = Path(tempfile.mkdtemp(prefix=f"confops-fleet-{deployments}-"))
    os.environ["CONFOPS_DATA_DIR"] = str(data)
    fresh_stores(args)
    figures = Figures(deployments, deployments * args.assets)
    started = time.time()
    burst_at = started + args.warmup + 60  # where the simulator's hourly burst begins
    config = FleetConfig(
        deployments=deployments,
        assets_per_deployment=args.assets,
        assets_per_job=args.assets_per_job,
        failure_rate=args.failure_rate,
        run_interval_s=HOUR,
        history_s=args.history,
        seed=args.seed,
        phase_s=burst_at % HOUR,
    )
    receiver = Receiver()
    processes = confops_processes(args, data)
    with FleetSimulator(config) as sim, running_receiver(receiver) as receiver_url:
        set_up(sim, receiver_url, args.poll_interval)
        for process in processes:
            process.start()
        try:
            figures.warmup_s = warm_up(args, processes, deployments, started)
            window_start = started + args.warmup
            window_end = window_start + (args.chaos or args.window)
            watch(args, processes, window_end, figures)
            drain(args, processes, window_end)
        finally:
            for process in processes:
                process.stop()
        figures.window_s = window_end - window_start
        measure_runs(sim, receiver, window_start, window_end, figures)
    figures.cpu = {p.name: round(p.cpu_seconds(), 1) for p in processes}
    figures.kills = {p.name: p.kills for p in processes if p.kills}
    measure_idle_pass(figures)
    measure_stores(args, figures)
    return figures


def warm_up(
    args: argparse.Namespace, processes: list[Process], deployments: int, t0: float
) -> float:
    """Until every deployment was polled once; the measured window starts at ``--warmup``."""
    while not polled_everywhere(deployments):
        fail_on_death(processes)
        if time.time() > t0 + args.warmup:
            raise SystemExit(
                f"FAILED: {deployments} deployments not all polled within --warmup "
                f"{args.warmup} s; raise it"
            )
        time.sleep(1)
    ready = time.time() - t0
    time.sleep(max(0.0, t0 + args.warmup - time.time()))
    return ready


def fail_on_death(processes: list[Process]) -> None:
    if deaths := [p.died() for p in processes if p.died()]:
        raise SystemExit("FAILED: a process died\n" + "\n".join(deaths))


def watch(
    args: argparse.Namespace, processes: list[Process], until: float, figures: Figures
) -> None:
    """The window: processes must live; with --chaos one is killed now and then and restarted."""
    rng = random.Random(args.seed)
    next_kill = time.time() + args.kill_every * rng.uniform(0.5, 1.5) if args.chaos else until
    while time.time() < until:
        if time.time() >= next_kill:
            victim = rng.choice(processes)
            print(f"  chaos: killing {victim.name} (pid {victim.popen and victim.popen.pid})")
            victim.kill()
            time.sleep(args.restart_after)
            victim.start()
            next_kill = time.time() + args.kill_every * rng.uniform(0.5, 1.5)
        fail_on_death(processes)
        time.sleep(1)


def drain(args: argparse.Namespace, processes: list[Process], window_end: float) -> None:
    """After the window: time for its last runs to be stored and their messages sent."""
    from alerts.models import Notification

    deadline = window_end + args.drain
    while time.time() < deadline:
        fail_on_death(processes)
        waiting = Notification.objects.filter(status__in=["pending", "sending"]).exists()
        if time.time() > window_end + 2 * args.poll_interval + 30 and not waiting:
            return
        time.sleep(2)


def joined_paged_incident(run_ids: list[str]) -> set[str]:
    """Failed runs whose alerts all joined an incident that had paged before they fired (the
    same job failing again while its incident is open). They get no page of their own: the
    incident's update follows its rules' cooldown (30 min by default), by design, so they are
    counted apart from failure-to-message."""
    from django.db.models import Min

    from alerts.choices import NotificationEvent
    from alerts.models import Alert, Notification

    alerts = list(
        Alert.objects.filter(run_id__in=run_ids).values("run_id", "incident_id", "fired_at")
    )
    first_page = dict(
        Notification.objects.filter(
            incident_id__in={a["incident_id"] for a in alerts}, event=NotificationEvent.FIRING
        )
        .values("incident_id")
        .annotate(at=Min("created_at"))
        .values_list("incident_id", "at")
    )
    joined: dict[str, bool] = {}
    for alert in alerts:
        paged = first_page.get(alert["incident_id"])
        before = paged is not None and alert["fired_at"] is not None and paged < alert["fired_at"]
        joined[alert["run_id"]] = joined.get(alert["run_id"], True) and before
    return {run_id for run_id, all_joined in joined.items() if all_joined}


def measure_runs(
    sim: FleetSimulator, receiver: Receiver, since: float, until: float, figures: Figures
) -> None:
    """Poll lag and failure-to-message of the runs that ended in the window."""
    from alerts.models import Alert
    from monitoring.models import Run

    ended = [run for _, run in sim.ended_runs(since=since, until=until)]
    ids = [run.run_id for run in ended]
    stored: dict[str, float] = {}
    for start in range(0, len(ids), 5000):
        # Stored = its end and its details (events, metrics) written: the run's last save.
        rows = Run.objects.filter(
            run_id__in=ids[start : start + 5000], ended_at__isnull=False, details_fetched=True
        )
        stored.update(
            (r, saved.timestamp()) for r, saved in rows.values_list("run_id", "updated_at")
        )
    lags = [stored[r.run_id] - r.end for r in ended if r.run_id in stored]
    figures.runs_ended, figures.runs_stored = len(ended), len(stored)
    figures.poll_lag_p50 = percentile(lags, 0.5)
    figures.poll_lag_p95 = percentile(lags, 0.95)
    figures.poll_lag_max = max(lags, default=float("nan"))
    failed = [r for r in ended if r.status == "FAILURE"]
    alerted = set(
        Alert.objects.filter(run_id__in=[r.run_id for r in failed]).values_list("run_id", flat=True)
    )
    arrivals = receiver.first_arrival()
    joined = joined_paged_incident([r.run_id for r in failed])
    messages = [
        arrivals[r.run_id] - r.end
        for r in failed
        if r.run_id in arrivals and r.run_id not in joined
    ]
    updates = [
        arrivals[r.run_id] - r.end for r in failed if r.run_id in arrivals and r.run_id in joined
    ]
    figures.failed_runs, figures.failed_with_alert = len(failed), len(alerted)
    figures.failed_in_message = len(messages)
    figures.failed_joined_paged = len(joined)
    figures.update_max = max(updates, default=float("nan"))
    figures.message_p50 = percentile(messages, 0.5)
    figures.message_p95 = percentile(messages, 0.95)
    figures.message_max = max(messages, default=float("nan"))
    figures.deliveries, figures.doubled = len(receiver.deliveries), receiver.doubled()
    if not ended:
        figures.problems.append("no run ended in the window: lengthen --window")
    if figures.runs_stored < figures.runs_ended:
        figures.problems.append(f"{figures.runs_ended - figures.runs_stored} runs lost")
    if figures.failed_with_alert < figures.failed_runs:
        figures.problems.append(f"{figures.failed_runs - figures.failed_with_alert} alerts lost")


def measure_idle_pass(figures: Figures) -> None:
    """The timer pass with the workers stopped: one pass to settle, then the median of three."""
    from django.utils import timezone

    from alerts.engine import evaluation

    evaluation.evaluate_due(timezone.now())
    seconds, judged = [], []
    for _ in range(3):
        began = time.perf_counter()
        result = evaluation.evaluate_due(timezone.now())
        seconds.append(time.perf_counter() - began)
        judged.append(result.sources)
    figures.idle_pass_s = statistics.median(seconds)
    figures.idle_pass_judged = max(judged)


def measure_stores(args: argparse.Namespace, figures: Figures) -> None:
    import redis
    from django.db import connection

    from monitoring.models import Run

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        figures.database_mb = cursor.fetchone()[0] / 2**20
    figures.runs_in_database = Run.objects.count()
    memory = redis.Redis.from_url(args.broker_url).info("memory")
    figures.redis_peak_mb = memory["used_memory_peak"] / 2**20


# --- output -------------------------------------------------------------------------------------


def print_table(args: argparse.Namespace, results: list[Figures]) -> None:
    print(f"machine: {machine()}")
    print(
        f"PostgreSQL + Redis; {args.workers} Celery worker processes (concurrency 1) + beat; "
        f"{args.assets} assets per deployment in jobs of {args.assets_per_job}, hourly, "
        f"{args.failure_rate:.0%} failing; polled every {args.poll_interval} s"
    )
    head = (
        "deployments | sources | runs ended/stored | poll lag p50/p95/max s | failed: alerted/"
        "in a message of its own | failure-to-message p50/p95/max s | idle pass s (judged) | "
        "worker+beat CPU s | DB MB (runs) | Redis peak MB"
    )
    print(head)
    for f in results:
        cpu = sum(f.cpu.values())
        joined = (
            f" (+{f.failed_joined_paged} joined a paged incident)" if f.failed_joined_paged else ""
        )
        print(
            f"{f.deployments} | {f.sources} | {f.runs_ended}/{f.runs_stored} | "
            f"{f.poll_lag_p50:.1f}/{f.poll_lag_p95:.1f}/{f.poll_lag_max:.1f} | "
            f"{f.failed_runs}: {f.failed_with_alert}/{f.failed_in_message}"
            f"{joined} | "
            f"{f.message_p50:.1f}/{f.message_p95:.1f}/{f.message_max:.1f} | "
            f"{f.idle_pass_s:.2f} ({f.idle_pass_judged}) | {cpu:.0f} | "
            f"{f.database_mb:.0f} ({f.runs_in_database}) | {f.redis_peak_mb:.1f}"
        )
        if f.failed_joined_paged:
            update = (
                f"its update came {f.update_max:.0f} s after the run at most"
                if f.update_max == f.update_max  # not NaN: an update arrived
                else "no update before the run ended (the cooldown had not passed)"
            )
            print(f"    {f.failed_joined_paged} joined a paged incident: {update}")
        if f.kills:
            print(f"    killed: {f.kills}; deliveries {f.deliveries}, received twice {f.doubled}")
        for problem in f.problems:
            print(f"    PROBLEM: {problem}")


def plot(path: Path, results: list[Figures]) -> None:
    """Poll lag and failure-to-message p95 against the fleet's size (matplotlib: the bench
    extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [f.sources for f in results]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(sizes, [f.poll_lag_p95 for f in results], "o-", label="poll lag p95")
    ax.plot(sizes, [f.message_p95 for f in results], "s-", label="failure-to-message p95")
    ax.axhline(20, color="grey", linestyle=":", linewidth=1)
    ax.axhline(30, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("sources (100 per deployment)")
    ax.set_ylabel("seconds")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("confops on a simulated Dagster fleet (2 cores)", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", default="25,50,100", help="sizes, comma separated")
    parser.add_argument("--assets", type=int, default=100, help="per deployment")
    parser.add_argument("--assets-per-job", type=int, default=5)
    parser.add_argument("--failure-rate", type=float, default=0.02)
    parser.add_argument("--poll-interval", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=float, default=2 * HOUR, help="simulated s before")
    parser.add_argument("--warmup", type=float, default=240, help="s before the window")
    parser.add_argument("--window", type=float, default=240, help="measured s (burst at +60)")
    parser.add_argument("--drain", type=float, default=120, help="s after the window at most")
    parser.add_argument("--chaos", type=float, default=0, help="window of this many s, killing")
    parser.add_argument("--kill-every", type=float, default=180)
    parser.add_argument("--restart-after", type=float, default=3)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--broker-url", default="")
    parser.add_argument("--cache-url", default="")
    parser.add_argument("--web-port", type=int, default=8765)
    parser.add_argument("--json", default="", help="write the figures here")
    parser.add_argument("--plot", default="", help="write the plot here (.svg or .png)")
    args = parser.parse_args()
    services(args)
    configure(args, Path(tempfile.mkdtemp(prefix="confops-fleet-")))
    results = []
    for size in [int(n) for n in args.deployments.split(",")]:
        print(f"--- {size} deployments", flush=True)
        results.append(run_size(args, size))
        print_table(args, results[-1:])
    print("=== all sizes")
    print_table(args, results)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(f) for f in results], indent=2))
    if args.plot:
        plot(Path(args.plot), results)
    sys.exit(1 if any(f.problems for f in results) else 0)


if __name__ == "__main__":
    main()
