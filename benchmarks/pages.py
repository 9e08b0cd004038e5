"""Server time of the status page (and of the alerts page, once it exists) at 1,000 sources,
or at fleet size.

    .venv/bin/python benchmarks/pages.py [--database-url postgres://...] [--sources 1000]
                                         [--requests 30] [--deployments 100 [--days 3]]

Seeds a fresh database with the data of ``benchmarks/evaluate.py`` (PostgreSQL when
--database-url or TEST_POSTGRES_URL names a server, else SQLite): one deployment, sources in
ten groups (10 % hourly, 10 % every six hours, 80 % daily), 30 days of runs, 2 % of them failed.
One evaluation of the default rules then opens the alerts those failures cause. Each page is
requested through Django's test client as a logged-in user of the Viewer role (middleware,
session, template rendering: everything but the network), after warm-up; median and p95 are
printed with the SQL query count and the response size, the machine noted. Target: p95 under
150 ms.

With --deployments N the sources are spread over N deployments (``seed_fleet``: the same mix of
schedules and failures, over --days of history so 10,000 sources seed in minutes) and the status
page is measured as a fleet sees it: collapsed by default, one deployment opened, a group filter,
a deployment filter and the second page. Target at 10,000 sources in 100 deployments: p95 under
500 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.evaluate import bench_run, configure, seed  # noqa: E402 - needs the path above

WARM_UP = 3


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(client: Any, url: str, count: int, **headers: str) -> tuple[list[float], int, int]:
    """Timings in ms, SQL queries of the last request, and the response's size in bytes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARM_UP):
        client.get(url, headers=headers)
    timings, queries, size = [], 0, 0
    for _ in range(count):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries, size = len(captured.captured_queries), len(response.content)
    return timings, queries, size


def report(label: str, client: Any, url: str, count: int, **headers: str) -> None:
    timings, queries, size = measure(client, url, count, **headers)
    print(
        f"{label:<40} median {statistics.median(timings):6.1f} ms, "
        f"p95 {percentile(timings, 0.95):6.1f} ms, max {max(timings):6.1f} ms, "
        f"{queries:2d} SQL queries, {size / 1024:6.0f} KiB"
    )


def seed_fleet(deployments: int, sources: int, days: int, now: datetime, rng: random.Random) -> int:
    """``sources`` spread evenly over ``deployments`` named fleet-000.., with ``days`` of runs
    (hourly, six-hourly and daily as ``benchmarks.evaluate.seed``, 2 % failed); returns the
    number of runs."""
    from monitoring.choices import RunAssetOutcome, SourceKind
    from monitoring.models import Deployment, Run, RunAsset, Source

    made = Deployment.objects.bulk_create(
        Deployment(name=f"fleet-{d:03d}", graphql_url=f"http://fleet-{d:03d}/graphql")
        for d in range(deployments)
    )
    Deployment.objects.update(last_success_at=now)
    all_sources = Source.objects.bulk_create(
        (
            Source(
                deployment=made[i % deployments],
                kind=SourceKind.ASSET,
                key=f"source_{i:05d}",
                slug=f"fleet-source-{i:05d}",
                group_name=f"group_{i % 10}",
                tags={"team": f"team_{i % 4}"},
                first_seen_at=now - timedelta(days=days + 1),
            )
            for i in range(sources)
        ),
        batch_size=2000,
    )
    runs: list[Any] = []
    links: list[tuple[Any, Any, bool]] = []
    for index, source in enumerate(all_sources):
        every = timedelta(hours=1 if index % 10 == 0 else 6 if index % 10 == 1 else 24)
        at = now - timedelta(days=days) + every * rng.random()
        while at < now:
            ok = rng.random() > 0.02
            run = bench_run(source.deployment_id, at, ok, rng)
            runs.append(run)
            links.append((run, source, ok))
            source.last_run_at, source.last_status = at, run.status
            if ok:
                source.last_success_at = at
            at += every
    Run.objects.bulk_create(runs, batch_size=5000)
    outcomes = {True: RunAssetOutcome.MATERIALIZED, False: RunAssetOutcome.FAILED}
    RunAsset.objects.bulk_create(
        (RunAsset.link(run, source, outcomes[ok]) for run, source, ok in links),
        batch_size=5000,
    )
    Source.objects.bulk_update(
        all_sources, ["last_run_at", "last_status", "last_success_at"], batch_size=2000
    )
    return len(runs)


def prepare(sources: int, deployments: int = 0, days: int = 3) -> tuple[Any, int, float]:
    """Seed, open the alerts the history causes, and log a user in."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils import timezone

    from alerts.engine.evaluation import evaluate
    from monitoring.models import Source

    now = timezone.now()
    started = time.perf_counter()
    if deployments:
        runs = seed_fleet(deployments, sources, days, now, random.Random(7))
    else:
        runs = seed(sources, now, random.Random(7))
    Source.objects.update(last_metrics={"count": 1234.0})
    evaluate(now)
    elapsed = time.perf_counter() - started
    user = get_user_model().objects.create_user("bench")  # force_login needs no password
    viewers = Group.objects.filter(name="Viewer").first()  # the role from confops/accounts/roles.py
    if viewers is not None:
        user.groups.add(viewers)
    client = Client()
    client.force_login(user)
    return client, runs, elapsed


def drop_database() -> None:
    """Remove the throw-away PostgreSQL database (SQLite's lives in a temporary folder)."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        return
    name = connection.settings_dict["NAME"]
    connections.close_all()
    import psycopg

    base, _, _ = os.environ["DATABASE_URL"].rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--deployments", type=int, default=0, help="spread the sources over this many"
    )
    parser.add_argument("--days", type=int, default=3, help="of history, with --deployments")
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep Python's default garbage collection (not the web worker's set-up)",
    )
    args = parser.parse_args()
    engine = configure(args.database_url)

    import django

    django.setup()
    try:
        run(args, engine)
    finally:
        drop_database()


def run(args: argparse.Namespace, engine: str) -> None:
    from django.core.management import call_command
    from django.test.utils import setup_test_environment
    from django.urls import NoReverseMatch, reverse

    from alerts.models import Alert
    from benchmarks.health import machine
    from confops.common.gc_tuning import tune_for_requests
    from monitoring.models import Source

    setup_test_environment()  # the test client's host, in-memory email
    call_command("migrate", verbosity=0)
    client, runs, elapsed = prepare(args.sources, args.deployments, args.days)
    if not args.default_gc:
        tune_for_requests()  # as gunicorn's post_worker_init does in each web worker
    gc_note = "Python's default" if args.default_gc else "the web worker's (gc_tuning)"
    print(f"machine: {machine()}; database: {engine}; garbage collection: {gc_note}")
    print(
        f"seeded {args.sources} sources, {runs} runs, "
        f"{Alert.objects.filter(state='firing').count()} firing alerts in {elapsed:.0f} s; "
        f"{args.requests} requests per page after {WARM_UP} to warm up"
    )
    n = args.requests
    if args.deployments:
        fleet_pages(client, n, f"fleet-{args.deployments // 2:03d}")
        return
    report("status page", client, "/", n)
    report("status page, htmx refresh", client, "/", n, **{"HX-Request": "true"})
    report("status page, 7 days", client, "/?window=7d", n)
    report("status page, one group", client, "/?group=group_3", n)
    hourly = Source.objects.order_by("pk").first()
    if hourly is not None:
        report("source page (an hourly source)", client, f"/sources/{hourly.slug}/", n)
    try:
        alerts_url = reverse("alerts:alert-list")
    except NoReverseMatch:
        print("alerts page: not there yet (no URL named alerts:alert-list)")
    else:
        report("alerts page", client, alerts_url, n)


def fleet_pages(client: Any, n: int, one: str) -> None:
    """The status page as a fleet sees it (see the module's docstring); ``one`` is a
    deployment."""
    report("status page, collapsed", client, "/", n)
    report("status page, collapsed, htmx refresh", client, "/", n, **{"HX-Request": "true"})
    report("status page, one deployment opened", client, f"/?open={one}", n)
    report("status page, page 2", client, "/?page=2", n)
    report("status page, one group (filter)", client, "/?group=group_3", n)
    report("status page, tag filter", client, "/?tag=team=team_1", n)
    report("status page, one deployment (filter)", client, f"/?deployment={one}", n)
    report("status page, collapsed, 7 days", client, "/?window=7d", n)


if __name__ == "__main__":
    main()
