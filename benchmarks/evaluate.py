"""A full evaluation of the default rules over 1,000 sources with 30 days of history.

    .venv/bin/python benchmarks/evaluate.py [--database-url postgres://...] [--sources 1000]

Seeds a fresh database (PostgreSQL when --database-url or TEST_POSTGRES_URL names a server,
else SQLite) with one deployment, sources in ten groups (10 % hourly, 10 % every six hours,
80 % daily; 2 % of runs fail; counts vary ±15 %), 30 days of runs, then times `evaluate(now)`
(all default rules, all sources) and counts its SQL queries, at 100 and at --sources sources.
Target: under 1 s on PostgreSQL at 1,000 sources / 100,000+ runs, queries not growing.
Then the timer pass at --idle-sources fresh sources (default 10,000): a full evaluation against
the due-only pass (``evaluate_due``), which must judge no source once deadlines are recorded.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitoring.models import Run

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def configure(database_url: str | None) -> str:
    data_dir = tempfile.mkdtemp(prefix="confops-bench-eval-")
    os.environ.update(
        {
            "CONFOPS_DATA_DIR": data_dir,
            "SECRET_KEY": "benchmark",
            "CONFOPS_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "confops.settings",
            "LOG_LEVEL": "WARNING",
            "CACHE_URL": "locmemcache://",
        }
    )
    if database_url:
        import psycopg

        name = f"confops_bench_{uuid.uuid4().hex[:8]}"
        base, _, _ = database_url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        return "PostgreSQL"
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    return "SQLite"


def bench_run(deployment_id: int, ended_at: datetime, ok: bool, rng: random.Random) -> Run:
    """An unsaved run of about a minute that ended at ``ended_at``, failed unless ``ok``."""
    from monitoring.choices import RunStatus
    from monitoring.models import Run

    return Run(
        deployment_id=deployment_id,
        run_id=uuid.uuid4().hex,
        job_name="bench_job",
        status=RunStatus.SUCCESS if ok else RunStatus.FAILURE,
        created_at=ended_at - timedelta(seconds=70),
        started_at=ended_at - timedelta(seconds=60),
        ended_at=ended_at,
        duration_s=60 * rng.uniform(0.8, 1.2),
        error_message="" if ok else "HTTP 503 from upstream",
        details_fetched=True,
    )


def seed(count: int, now: datetime, rng: random.Random) -> int:
    """Sources and 30 days of runs, bulk-inserted; returns the number of runs."""
    from monitoring.choices import RunAssetOutcome, SourceKind
    from monitoring.models import Deployment, Run, RunAsset, Source

    deployment = Deployment.objects.create(
        name="bench", graphql_url="http://bench/graphql", last_success_at=now
    )
    sources = Source.objects.bulk_create(
        Source(
            deployment=deployment,
            kind=SourceKind.ASSET,
            key=f"source_{i:04d}",
            slug=f"bench-source-{i:04d}",
            group_name=f"group_{i % 10}",
            tags={"team": f"team_{i % 4}"},
            first_seen_at=now - timedelta(days=31),
        )
        for i in range(count)
    )
    total = 0
    for index, source in enumerate(sources):
        every = timedelta(hours=1 if index % 10 == 0 else 6 if index % 10 == 1 else 24)
        base = rng.randint(50, 5000)
        runs, links, at = [], [], now - timedelta(days=30)
        while at < now:
            ok = rng.random() > 0.02
            count_value = float(int(base * rng.uniform(0.85, 1.15)))
            runs.append(bench_run(deployment.pk, at, ok, rng))
            links.append((ok, count_value))
            at += every
        Run.objects.bulk_create(runs, batch_size=2000)
        RunAsset.objects.bulk_create(
            [
                RunAsset.link(
                    run,
                    source,
                    RunAssetOutcome.MATERIALIZED if ok else RunAssetOutcome.FAILED,
                    {"count": value} if ok else {},
                )
                for run, (ok, value) in zip(runs, links, strict=True)
            ],
            batch_size=2000,
        )
        last_ok = [r for r, (ok, _) in zip(runs, links, strict=True) if ok]
        source.last_run_at, source.last_status = runs[-1].ended_at, runs[-1].status
        source.last_success_at = last_ok[-1].ended_at if last_ok else None
        source.save()
        total += len(runs)
    return total


def time_evaluations(now: datetime, repeats: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.engine.evaluation import evaluate

    timings, queries = [], 0
    for i in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            evaluate(now + timedelta(seconds=i))
            timings.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    return timings, queries


def idle_passes(count: int, now: datetime, repeats: int) -> None:
    """The timer pass over ``count`` fresh sources (a success 30 min ago, nothing running): the
    full evaluation every source used to get, the first due pass (every source, recording its
    next check), then the idle passes, which judge no source."""
    from alerts.engine.evaluation import evaluate, evaluate_due
    from monitoring.choices import SourceKind
    from monitoring.models import Deployment, Source

    Source.objects.update(is_gone=True)
    deployment = Deployment.objects.create(name="idle", graphql_url="http://idle/graphql")
    Source.objects.bulk_create(
        (
            Source(
                deployment=deployment,
                kind=SourceKind.ASSET,
                key=f"idle_{i:05d}",
                slug=f"idle-{i:05d}",
                first_seen_at=now - timedelta(days=31),
                last_success_at=now - timedelta(minutes=30),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    started = time.perf_counter()
    evaluate(now)
    full = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    first = evaluate_due(now)
    first_ms = (time.perf_counter() - started) * 1000
    timings, judged = [], []
    for i in range(1, repeats + 1):
        started = time.perf_counter()
        judged.append(evaluate_due(now + timedelta(minutes=i)).sources)
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"idle pass at {count} sources: full evaluation {full:7.0f} ms; due pass: first "
        f"{first_ms:7.0f} ms ({first.sources} sources judged), then median "
        f"{statistics.median(timings):5.0f} ms (max {max(timings):.0f}), "
        f"{max(judged)} sources judged"
    )
    if max(judged) != 0:
        sys.exit("an idle pass judged sources: the next-check times are wrong")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--idle-sources", type=int, default=10000, help="the idle timer pass at this many sources"
    )
    args = parser.parse_args()
    engine = configure(args.database_url)

    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks.health import machine
    from monitoring.models import Source

    call_command("migrate", verbosity=0)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    started = time.perf_counter()
    runs = seed(args.sources, now, random.Random(7))
    print(f"machine: {machine()}; database: {engine}")
    print(f"seeded {args.sources} sources, {runs} runs in {time.perf_counter() - started:.0f} s")
    ids = list(Source.objects.order_by("pk").values_list("pk", flat=True))
    for label, count in (("100 sources", 100), (f"{args.sources} sources", args.sources)):
        Source.objects.filter(pk__in=ids[count:]).update(is_gone=True)  # absent from judging
        Source.objects.filter(pk__in=ids[:count]).update(is_gone=False)
        first, _ = time_evaluations(now, 1)  # opens the alerts the seeded failures cause
        timings, queries = time_evaluations(now, args.repeats)
        print(
            f"{label:>14}: first {first[0]:7.0f} ms, "
            f"then median {statistics.median(timings):7.0f} ms (max {max(timings):.0f}), "
            f"{queries} SQL queries per evaluation"
        )
    idle_passes(args.idle_sources, now, args.repeats)


if __name__ == "__main__":
    main()
