"""Scrape time of /metrics at 1,000 sources, and the CPU cost of request instrumentation.

    .venv/bin/python benchmarks/metrics.py [--database-url postgres://...] [--sources 1000]
                                           [--requests 30] [--deployments 100 [--days 3]]

With --deployments the sources are spread over a fleet (``benchmarks.pages.seed_fleet``, --days
of runs, an hour of polls every 10 s per deployment) and the whole scrape is timed beside its
parts (``?scope=fleet`` and one ``?deployment=``); the instrumentation rounds are skipped.

Seeds a fresh database with the data of ``benchmarks/evaluate.py`` (PostgreSQL when
--database-url or TEST_POSTGRES_URL names a server, else SQLite): one deployment, 30 days of
runs, the alerts and notifications one evaluation opens, and 48 hours of poll records every 2 s
(the retention's worth). Then, through Django's test client (everything but the network):

1. ``GET /metrics`` with the bearer token, after warm-up: median and p95, SQL queries, series
   and size. Target: median under 200 ms at 1,000 sources.
2. The status page's CPU time in this process (``time.process_time``) with the request
   histograms of ``METRICS_MULTIPROC_DIR`` on and off, in alternating rounds so drift hits both
   alike; and the middleware's own cost per request, timed alone. Target: under 5 %.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.evaluate import configure, seed  # noqa: E402 - needs the path above
from benchmarks.pages import WARM_UP, drop_database, percentile, seed_fleet  # noqa: E402

TOKEN = "benchmark-token"  # noqa: S105 - a throw-away value for the throw-away database
MIDDLEWARE = "confops.common.request_metrics.RequestMetricsMiddleware"
POLL_EVERY_SECONDS = 2
POLL_HOURS = 48


def seed_polls(now: datetime, hours: int = POLL_HOURS, every: int = POLL_EVERY_SECONDS) -> int:
    """The poll records each deployment polled every ``every`` s leaves over ``hours``."""
    from monitoring.models import Deployment, PollRecord

    count = hours * 3600 // every
    rng = random.Random(3)
    deployments = list(Deployment.objects.all())
    PollRecord.objects.bulk_create(
        (
            PollRecord(
                deployment=deployment,
                started_at=now - timedelta(seconds=i * every),
                duration_ms=rng.lognormvariate(3.5, 0.6),
                ok=rng.random() > 0.01,
            )
            for deployment in deployments
            for i in range(count)
        ),
        batch_size=5000,
    )
    return count * len(deployments)


def scrape(client: Any, count: int, query: str = "", label: str = "GET /metrics") -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(WARM_UP):
        client.get(f"/metrics{query}", headers=headers)
    timings = []
    for _ in range(count):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(f"/metrics{query}", headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:3]
    print("slowest queries of the last scrape: " + ", ".join(f"{q['time']} s" for q in slowest))
    lines = response.content.decode().splitlines()
    series = sum(1 for line in lines if line and not line.startswith("#"))
    print(
        f"{label:<34} median {statistics.median(timings):6.1f} ms, "
        f"p95 {percentile(timings, 0.95):6.1f} ms, max {max(timings):6.1f} ms, "
        f"{len(captured.captured_queries)} SQL queries, {series} series, "
        f"{len(response.content) / 1024:.0f} KiB"
    )


def page_cpu_ms(client: Any, count: int) -> list[float]:
    """CPU milliseconds of this process per status page request."""
    timings = []
    for _ in range(count):
        started = time.process_time()
        response = client.get("/")
        timings.append((time.process_time() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return timings


def instrumentation_cost(user: Any, rounds: int, per_round: int) -> None:
    from django.conf import settings
    from django.test import Client, override_settings

    plain = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert len(plain) == len(settings.MIDDLEWARE) - 1, "METRICS_MULTIPROC_DIR must be set"
    with_client, without_client = Client(), Client()
    with_client.force_login(user)
    without_client.force_login(user)
    page_cpu_ms(with_client, WARM_UP)
    with override_settings(MIDDLEWARE=plain):
        page_cpu_ms(without_client, WARM_UP)
    on: list[float] = []
    off: list[float] = []
    for _ in range(rounds):
        on += page_cpu_ms(with_client, per_round)
        with override_settings(MIDDLEWARE=plain):
            off += page_cpu_ms(without_client, per_round)
    cost = (statistics.median(on) - statistics.median(off)) / statistics.median(off) * 100
    print(
        f"{'status page CPU, histograms on':<34} median {statistics.median(on):6.1f} ms "
        f"({len(on)} requests)"
    )
    print(
        f"{'status page CPU, histograms off':<34} median {statistics.median(off):6.1f} ms; "
        f"difference {cost:+.1f} % (noise included)"
    )
    middleware_alone(statistics.median(off))


def middleware_alone(page_ms: float) -> None:
    """The middleware's own work (a label lookup and one observe into the mmap'd file)."""
    from confops.common.request_metrics import REQUEST_SECONDS

    calls = 20000
    started = time.process_time()
    for _ in range(calls):
        REQUEST_SECONDS.labels("home", "GET", "2xx").observe(0.05)
    each_us = (time.process_time() - started) / calls * 1e6
    print(
        f"{'request histogram, one observe':<34} {each_us:6.1f} µs CPU "
        f"= {each_us / 1000 / page_ms * 100:.3f} % of a status page"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--deployments", type=int, default=0)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    engine = configure(args.database_url)
    # Before Django (and prometheus_client) load: settings switch the multiprocess mode on.
    os.environ["METRICS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="confops-bench-prom-")
    os.environ["METRICS_BEARER_TOKEN"] = TOKEN

    import django

    django.setup()
    try:
        run(args, engine)
    finally:
        drop_database()


def run(args: argparse.Namespace, engine: str) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from alerts.engine.evaluation import evaluate
    from alerts.models import Alert, Notification
    from benchmarks.health import machine
    from monitoring.models import Source

    setup_test_environment()
    call_command("migrate", verbosity=0)
    now = timezone.now()
    started = time.perf_counter()
    if args.deployments:
        runs = seed_fleet(args.deployments, args.sources, args.days, now, random.Random(7))
    else:
        runs = seed(args.sources, now, random.Random(7))
    Source.objects.update(last_metrics={"count": 1234.0})
    polls = seed_polls(now, 1, 10) if args.deployments else seed_polls(now)
    evaluate(now)
    print(f"machine: {machine()}; database: {engine}")
    print(
        f"seeded {args.sources} sources, {runs} runs, {polls} poll records, "
        f"{Alert.objects.filter(state='firing').count()} firing alerts, "
        f"{Notification.objects.count()} notifications in {time.perf_counter() - started:.0f} s"
    )
    scrape(Client(), args.requests)
    if args.deployments:
        scrape(Client(), args.requests, "?scope=fleet", "GET /metrics?scope=fleet")
        one = f"?deployment=fleet-{args.deployments // 2:03d}"
        scrape(Client(), args.requests, one, "GET /metrics?deployment=")
        return
    user = get_user_model().objects.create_user("bench")
    viewers = Group.objects.filter(name="Viewer").first()
    if viewers is not None:
        user.groups.add(viewers)
    instrumentation_cost(user, rounds=6, per_round=max(args.requests // 6, 5))


if __name__ == "__main__":
    main()
