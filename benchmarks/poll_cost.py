"""CPU, SQL queries and HTTP requests of one poll of one simulated deployment (PostgreSQL, Redis).

    .venv/bin/python benchmarks/poll_cost.py [--assets 100] [--idle-polls 60]
        [--database-url postgresql://.../confops_pollcost] [--cache-url redis://.../9]
        [--broker-url redis://.../8] [--profile out_prefix]

Without URLs it takes ``TEST_POSTGRES_URL`` and ``TEST_REDIS_URL`` (``bash scripts/services.sh
start && source /tmp/confops-services/env.sh``) and makes the database ``confops_pollcost``
anew. The fleet simulator (``tests/fixtures/fleet_sim.py``) serves ONE deployment of
``--assets`` assets (5 per job, hourly runs, half of them in the first minute of the hour, 2 %
failures) from a separate process, so its CPU is not counted; its clock is the poll's ``now``,
moved 10 s per poll. Each poll is ``polling.poll_with_lock``, what the Celery task calls: the
Redis lock, the poll itself, its poll record and the evaluation of the sources it touched (the
``sources_touched`` receiver runs in the same call). Celery's own overhead is not included.

It polls ``--idle-polls`` times in the quiet middle of the hour (idle polls: nothing new; every
third one also reads ticks and runless events), then every 10 s through the top-of-the-hour
burst (busy polls: runs started or ended, their details stored and judged). Per kind it prints
CPU ms (``time.process_time`` of this process), SQL queries and HTTP requests per poll.
``--profile PREFIX`` writes cProfile stats of CPU time (not wall time; profiling inflates it
about 4x, so read shares, not ms) of all idle and all busy polls to PREFIX.idle.prof and
PREFIX.busy.prof and prints the top functions. Exits 1 if the simulator process died or a poll
failed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.fixtures.fleet_sim import FleetConfig, FleetSimulator  # noqa: E402

HOUR = 3600.0
STEP_S = 10.0
# The simulated timeline: the deployment is added 20 minutes into an hour with 2 h of history.
START = datetime(2026, 11, 2, 10, 20, tzinfo=UTC).timestamp()


def serve(assets: int, clock: Synchronized, conn: Connection) -> None:
    """The simulator process: one deployment whose clock is the shared value."""
    config = FleetConfig(
        deployments=1,
        assets_per_deployment=assets,
        assets_per_job=5,
        run_interval_s=HOUR,
        failure_rate=0.02,
        history_s=2 * HOUR,
        clock=lambda: clock.value,
    )
    with FleetSimulator(config) as sim:
        name = sim.names[0]
        conn.send((name, sim.url_for(name)))
        conn.recv()  # until the benchmark says stop


@dataclass
class Sample:
    cpu_ms: float
    queries: int
    requests: int
    stats: dict[str, Any]

    @property
    def busy(self) -> bool:
        s = self.stats
        return bool(s["runs_created"] or s["runs_updated"] or s["run_details"])

    @property
    def ticks(self) -> bool:
        return self.requests > 1 and not self.busy


@dataclass
class Counter:
    queries: int = 0

    def __call__(self, execute: Callable[..., Any], *args: Any) -> Any:
        self.queries += 1
        return execute(*args)


@dataclass
class Bench:
    deployment_id: int
    clock: Synchronized
    profiles: dict[str, pstats.Stats] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)

    def poll(self, at: float, profile: bool = False) -> Sample:
        from django.db import connection

        from monitoring import polling
        from monitoring.models import Deployment

        self.clock.value = at
        counter = Counter()
        profiler = cProfile.Profile(time.process_time) if profile else None
        with connection.execute_wrapper(counter):
            started = time.process_time()
            if profiler:
                profiler.enable()
            ok = polling.poll_with_lock(self.deployment_id, datetime.fromtimestamp(at, tz=UTC))
            if profiler:
                profiler.disable()
            cpu_ms = (time.process_time() - started) * 1000
        deployment = Deployment.objects.get(pk=self.deployment_id)
        if not ok:
            raise SystemExit(f"FAILED: poll at {at} failed: {deployment.last_error}")
        stats = deployment.last_poll_stats
        sample = Sample(cpu_ms, counter.queries, stats["requests"], stats)
        if profiler:
            kind = "busy" if sample.busy else "idle"
            if kind in self.profiles:
                self.profiles[kind].add(profiler)
            else:
                self.profiles[kind] = pstats.Stats(profiler)
        self.samples.append(sample)
        return sample


def summary(label: str, samples: list[Sample]) -> str:
    if not samples:
        return f"  {label:<22} none"
    cpu = [s.cpu_ms for s in samples]
    return (
        f"  {label:<22} n={len(samples):3d}  CPU ms median {statistics.median(cpu):6.1f}"
        f"  mean {statistics.fmean(cpu):6.1f}  SQL queries median"
        f" {statistics.median(s.queries for s in samples):5.0f}"
        f"  HTTP requests median {statistics.median(s.requests for s in samples):3.0f}"
    )


def configure(args: argparse.Namespace) -> None:
    postgres, redis_url = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    if not (args.database_url or postgres) or not (args.cache_url or redis_url):
        raise SystemExit("FAILED: no database/cache URL: source /tmp/confops-services/env.sh")
    args.database_url = (
        args.database_url or f"{(postgres or '').rsplit('/', 1)[0]}/confops_pollcost"
    )
    args.broker_url = args.broker_url or f"{redis_url}/8"
    args.cache_url = args.cache_url or f"{redis_url}/9"
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        CONFOPS_IGNORE_DOTENV="1",
        CONFOPS_DATA_DIR=tempfile.mkdtemp(prefix="confops-poll-cost-"),
        SECRET_KEY=os.environ.get("SECRET_KEY") or "benchmark-poll-cost-not-secret",
        DJANGO_SETTINGS_MODULE="confops.settings",
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        CACHE_URL=args.cache_url,
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def measure(args: argparse.Namespace, bench: Bench) -> None:
    at = START
    while True:  # catch-up: discovery, the history and its details
        sample = bench.poll(at)
        at += STEP_S
        if not sample.busy:
            break
    idle = [bench.poll(at + i * STEP_S, args.profile is not None) for i in range(args.idle_polls)]
    at = (at // HOUR + 1) * HOUR  # the top of the next hour: the burst
    burst = [bench.poll(at + i * STEP_S, args.profile is not None) for i in range(24)]
    polls = idle + burst
    print(summary("idle (runs only)", [s for s in polls if not s.busy and not s.ticks]))
    print(summary("idle (+ticks/runless)", [s for s in polls if s.ticks]))
    print(summary("busy", [s for s in polls if s.busy]))
    busy = [s for s in polls if s.busy]
    if busy:
        details = sum(s.stats["run_details"] for s in busy)
        print(f"  busy polls stored details of {details} runs, {details / len(busy):.1f} per poll")


def print_profiles(prefix: str, profiles: dict[str, pstats.Stats]) -> None:
    for kind, stats in profiles.items():
        stats.dump_stats(f"{prefix}.{kind}.prof")
        out = io.StringIO()
        pstats.Stats(f"{prefix}.{kind}.prof", stream=out).sort_stats("cumulative").print_stats(30)
        print(f"--- {kind} polls, by cumulative time ({prefix}.{kind}.prof)")
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--idle-polls", type=int, default=60)
    parser.add_argument("--database-url")
    parser.add_argument("--cache-url")
    parser.add_argument("--broker-url")
    parser.add_argument("--profile", metavar="PREFIX")
    args = parser.parse_args()
    context = multiprocessing.get_context("fork")  # before Django opens any connection
    clock = context.Value("d", START)
    ours, theirs = context.Pipe()
    simulator = context.Process(target=serve, args=(args.assets, clock, theirs), daemon=True)
    simulator.start()
    try:
        name, url = ours.recv()
        configure(args)
        from benchmarks.fleet import fresh_stores
        from benchmarks.health import machine
        from monitoring.models import Deployment

        fresh_stores(args)
        deployment = Deployment.objects.create(name=name, graphql_url=url, poll_interval_seconds=10)
        print(f"machine: {machine()}; simulator in a separate process (its CPU not counted)")
        print(f"one deployment of {args.assets} assets, 5 per job, hourly runs, polled every 10 s")
        bench = Bench(deployment.pk, clock)
        measure(args, bench)
        if args.profile:
            print_profiles(args.profile, bench.profiles)
        if not simulator.is_alive():
            raise SystemExit("FAILED: the simulator process died")
    finally:
        ours.send("stop")
        simulator.join(10)
        if simulator.is_alive():
            simulator.kill()


if __name__ == "__main__":
    main()
