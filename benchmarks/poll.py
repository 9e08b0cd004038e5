"""Cost of one incremental poll against the real example Dagster, at two history sizes.

    .venv/bin/python benchmarks/poll.py [--small 200] [--large 1000] [--polls 30]

Starts a dagster-webserver for examples/confradar on a temporary DAGSTER_HOME, creates run
history quickly by executing a trivial one-op job in-process against the same instance, and
measures confops' poll (HTTP + parsing + storing, SQLite, embedded defaults) with nothing new and
with ten new runs. Target: idle poll median under 100 ms, and the ratio of idle medians between
the large and the small history at most 1.3 (an idle poll must not grow with history).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
DATA_DIR = tempfile.mkdtemp(prefix="confops-bench-poll-")
os.environ.update(
    {
        "CONFOPS_DATA_DIR": DATA_DIR,
        "SECRET_KEY": "benchmark",
        "CONFOPS_IGNORE_DOTENV": "1",
        "DJANGO_SETTINGS_MODULE": "confops.settings",
        "LOG_LEVEL": "WARNING",
    }
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.health import machine  # noqa: E402
from monitoring import polling  # noqa: E402
from monitoring.models import Deployment, Run  # noqa: E402
from tests.fixtures.dagster import start_dagster_webserver  # noqa: E402

HISTORY_SCRIPT = """
import sys
import dagster as dg

@dg.op
def tick():
    return 1

@dg.job
def history_job():
    tick()

instance = dg.DagsterInstance.get()
for _ in range(int(sys.argv[1])):
    history_job.execute_in_process(instance=instance)
"""


def add_history(dagster_home: Path, count: int) -> float:
    """Execute a trivial job ``count`` times against the instance; return seconds taken."""
    import subprocess

    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", HISTORY_SCRIPT, str(count)],
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


class Clock:
    """Simulated time: each poll happens one poll interval after the previous one."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def tick(self, seconds: float = 2.0) -> None:
        self.now += timedelta(seconds=seconds)


def poll_times(deployment: Deployment, clock: Clock, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        clock.tick()
        started = time.perf_counter()
        assert polling.poll_deployment(deployment, clock.now), deployment.last_error
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(timings):7.1f} ms  p90 {p90:7.1f} ms  (n={len(timings)})"


def measure(
    deployment: Deployment, clock: Clock, dagster_home: Path, polls: int
) -> dict[str, float]:
    idle = poll_times(deployment, clock, polls)
    add_history(dagster_home, 10)
    clock.tick(60)  # past the overlap window: the ten runs are new, the rest is history
    started = time.perf_counter()
    assert polling.poll_deployment(deployment, clock.now)
    ten_new = (time.perf_counter() - started) * 1000
    print(f"  idle poll      {summary(idle)}")
    print(f"  ten new runs   {ten_new:7.1f} ms  (one poll: runs, their events, outcomes)")
    return {"idle_median": statistics.median(idle), "ten_new": ten_new}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=30)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    home = Path(DATA_DIR) / "dagster_home"
    server = start_dagster_webserver(home)
    try:
        print(f"machine: {machine()}")
        results = {}
        created = 0
        for size in (args.small, args.large):
            seconds = add_history(home, size - created)
            print(f"history: {size} runs (+{size - created} in {seconds:.0f} s)")
            created = size
            deployment = Deployment.objects.create(
                name=f"bench-{size}", graphql_url=server.graphql_url, poll_interval_seconds=2
            )
            clock = Clock()
            catch_up = poll_times(deployment, clock, 1)  # discovery and the whole history
            while Run.objects.filter(deployment=deployment, details_fetched=False).exists():
                catch_up += poll_times(deployment, clock, 1)  # events of finished runs
            stored = Run.objects.filter(deployment=deployment).count()
            print(
                f"  catch-up: {stored} runs stored in {len(catch_up)} polls, "
                f"{sum(catch_up) / 1000:.1f} s"
            )
            results[size] = measure(deployment, clock, home, args.polls)
            created += 10
        ratio = results[args.large]["idle_median"] / results[args.small]["idle_median"]
        print(f"idle poll ratio {args.large}/{args.small} runs: {ratio:.2f} (target <= 1.3)")
    finally:
        server.process.stop()


if __name__ == "__main__":
    main()
