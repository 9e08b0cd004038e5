"""The hot queries and the hourly prune at millions of runs, on PostgreSQL.

    bash scripts/services.sh start && source /tmp/confops-services/env.sh
    .venv/bin/python benchmarks/storage.py [--runs 1000000] [--runs 10000000] [--verbose]

Creates a database of its own on TEST_POSTGRES_URL's server, migrates it, fills it in SQL
(generate_series, no Python per row): --runs runs spread over --deployments deployments,
--sources asset sources and --days days (one run-asset link and, for a success, one
materialisation each; a check result for one run in ten; 2 % fail; the last runs are still
queued), runs ANALYZE, then prints
EXPLAIN (ANALYZE, BUFFERS) of the hot queries (the evaluation's history reads, the stuck-run
judgement, the status timeline, the poll's cursor reads, the prune's candidates), the indexes
each uses, and the time of one prune batch and of the whole prune of what is past retention.
--days 91 (default) leaves about 1 % past the 90 days: the hourly prune's steady state.
Exits 1 if a hot query scans a large table sequentially. The database is dropped at the end
(--keep keeps it). Figures: docs/storage.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import machine  # noqa: E402

# Tables a hot query must never read from end to end.
LARGE_TABLES = frozenset(
    {"monitoring_run", "monitoring_runasset", "monitoring_assetevent", "monitoring_checkresult"}
)


def fill(
    cursor: Any,
    runs: int,
    deployment_ids: list[int],
    source_ids: list[int],
    days: float,
    now: datetime,
) -> None:
    """Runs, links and materialisations in three INSERT ... SELECT statements. Source ``k`` of
    ``source_ids`` belongs to deployment ``k % len(deployment_ids)``; run ``i`` is of source
    ``i % len(source_ids)``, created ``days * (runs - i) / runs`` days before ``now``."""
    cursor.execute("SELECT coalesce(max(id), 0) FROM monitoring_run")
    offset = cursor.fetchone()[0]
    params = {
        "n": runs,
        "offset": offset,
        "now": now,
        "days": days,
        "sources": source_ids,
        "deployments": [deployment_ids[k % len(deployment_ids)] for k in range(len(source_ids))],
    }
    cursor.execute(
        """
        INSERT INTO monitoring_run (
            id, deployment_id, origin, run_id, job_name, status, created_at, started_at, ended_at,
            dagster_update_time, duration_s, tags, launch_reason, schedule_name, sensor_name,
            backfill_id, partition, parent_run_id, root_run_id, retry_number, will_retry,
            error_class, error_message, failed_step, step_stats, details_fetched, first_seen_at,
            updated_at)
        SELECT %(offset)s + i, (%(deployments)s::int[])[1 + i %% cardinality(%(sources)s::int[])],
            'dagster', 'run-' || (%(offset)s + i), 'job', status, t, t + interval '1 second',
            CASE WHEN status = 'QUEUED' THEN NULL ELSE t + interval '61 seconds' END,
            extract(epoch FROM t + interval '61 seconds'), 60, '{}', 'schedule', '', '', '', '',
            '', '', 0, false, '', CASE WHEN status = 'FAILURE' THEN 'boom' ELSE '' END, '', '[]',
            status <> 'QUEUED', %(now)s, %(now)s
        FROM (
            SELECT i, %(now)s::timestamptz - %(days)s * interval '1 day' * (%(n)s - i) / %(n)s
                       - interval '2 minutes' AS t,
                   CASE WHEN i > %(n)s - 20 THEN 'QUEUED'
                        WHEN i %% 50 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END AS status
            FROM generate_series(1, %(n)s) AS i
        ) AS generated
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO monitoring_runasset (
            run_id, source_id, outcome, run_created_at, metrics, error_message, failed_step)
        SELECT r.id,
            (%(sources)s::int[])[1 + (r.id - %(offset)s) %% cardinality(%(sources)s::int[])],
            CASE r.status WHEN 'SUCCESS' THEN 'materialized' WHEN 'FAILURE' THEN 'failed'
                 ELSE 'planned' END,
            r.created_at, '{"count": 100}', '', ''
        FROM monitoring_run r WHERE r.id > %(offset)s
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO monitoring_assetevent (
            source_id, run_id, dagster_run_id, kind, timestamp, dagster_timestamp, partition,
            step_key, metrics, text_metadata)
        SELECT l.source_id, r.id, r.run_id, 'materialization', r.ended_at,
            extract(epoch FROM r.ended_at)::text, '', 'step', '{"count": 100}', '{}'
        FROM monitoring_run r JOIN monitoring_runasset l ON l.run_id = r.id
        WHERE r.id > %(offset)s AND r.status = 'SUCCESS'
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO monitoring_checkresult (
            source_id, run_id, dagster_run_id, check_name, passed, severity, description,
            evaluated_at, metadata)
        SELECT l.source_id, r.id, r.run_id, 'not_empty', r.status = 'SUCCESS', 'ERROR', '',
            r.ended_at, '{}'
        FROM monitoring_run r JOIN monitoring_runasset l ON l.run_id = r.id
        WHERE r.id > %(offset)s AND r.id %% 10 = 0 AND r.ended_at IS NOT NULL
        """,
        params,
    )
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('monitoring_run', 'id'), "
        "(SELECT max(id) FROM monitoring_run))"
    )


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(cursor: Any, sql: str, analyze: bool = True) -> dict[str, Any]:
    """The plan of one executed statement (its SQL as the driver sent it)."""
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    cursor.execute(f"EXPLAIN ({options}) {sql}")
    found = cursor.fetchone()[0]
    return (json.loads(found) if isinstance(found, str) else found)[0]


def indexes_used(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in plan_nodes(plan["Plan"]) if "Index Name" in node}


def sequential_scans(plan: dict[str, Any]) -> set[str]:
    """The large tables the plan reads end to end."""
    return {
        node["Relation Name"]
        for node in plan_nodes(plan["Plan"])
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in LARGE_TABLES
    }


def captured_selects(action: Callable[[], object]) -> list[str]:
    """The SELECTs ``action`` sends, as sent (psycopg's own text, parameters bound)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]


def hot_queries(now: datetime, retention_days: int) -> dict[str, Callable[[], object]]:
    """What runs every poll, every evaluation pass and every page view, on one shard of work."""
    from alerts.engine import history
    from alerts.pages.status import timeline_runs
    from alerts.retention import old_events, old_runs
    from monitoring.choices import TERMINAL_RUN_STATUSES, TimelineWindow
    from monitoring.models import Deployment, Run, Source
    from monitoring.timeline import TimeWindow

    deployment = Deployment.objects.order_by("pk").first()
    assert deployment is not None
    sources = list(Source.objects.filter(deployment=deployment).values_list("pk", flat=True)[:100])
    recent = list(
        Run.objects.filter(deployment=deployment)
        .order_by("-created_at")
        .values_list("run_id", flat=True)[:100]
    )
    deployments = {d.pk: d for d in Deployment.objects.all()}
    cutoff = now - timedelta(days=retention_days)
    return {
        "evaluation: latest runs of 100 sources": lambda: history.load_runs(
            sources, history.RUNS_PER_SOURCE
        ),
        "evaluation: latest checks of 100 sources": lambda: history.load_checks(sources),
        "evaluation: unfinished runs (stuck-run rule)": history.load_open_runs,
        "status: 24 h timeline of 100 sources": lambda: timeline_runs(
            None,  # type: ignore[arg-type]  # unused by the query
            sources,
            TimeWindow.ending(TimelineWindow.DAY, now),
            deployments,
        ),
        "poll: runs awaiting details": lambda: list(
            Run.objects.filter(
                deployment=deployment, status__in=TERMINAL_RUN_STATUSES, details_fetched=False
            ).order_by("ended_at")[:25]
        ),
        "poll: stored runs of 100 updated": lambda: list(
            Run.objects.filter(deployment=deployment, run_id__in=recent)
        ),
        "prune: 5,000 candidate runs": lambda: list(
            old_runs(cutoff).values_list("pk", flat=True)[:5000]
        ),
        "prune: 5,000 candidate events": lambda: list(
            old_events(cutoff).values_list("pk", flat=True)[:5000]
        ),
    }


def configure(server_url: str) -> tuple[str, str]:
    import psycopg

    name = f"confops_h3_storage_{uuid.uuid4().hex[:8]}"
    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        {
            "CONFOPS_DATA_DIR": tempfile.mkdtemp(prefix="confops-bench-storage-"),
            "SECRET_KEY": "benchmark",
            "CONFOPS_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "confops.settings",
            "LOG_LEVEL": "WARNING",
            "CACHE_URL": "locmemcache://",
            "DATABASE_URL": f"{base}/{name}",
        }
    )
    return base, name


def drop(base: str, name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(args: argparse.Namespace, now: datetime) -> float:
    from django.db import connection

    from monitoring.choices import SourceKind
    from monitoring.models import Deployment, Source

    deployments = Deployment.objects.bulk_create(
        Deployment(name=f"team-{d}", graphql_url=f"http://team-{d}/graphql")
        for d in range(args.deployments)
    )
    sources = Source.objects.bulk_create(
        Source(
            deployment=deployments[k % len(deployments)],
            kind=SourceKind.ASSET,
            key=f"asset_{k}",
            slug=f"asset-{k}",
        )
        for k in range(args.sources)
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        fill(
            cursor,
            args.runs,
            [d.pk for d in deployments],
            [s.pk for s in sources],
            args.days,
            now,
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def table_sizes() -> list[tuple[str, int, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) "
            "FROM pg_stat_user_tables WHERE relname = ANY(%s) ORDER BY relname",
            [sorted(LARGE_TABLES)],
        )
        return list(cursor.fetchall())


def report_queries(now: datetime, verbose: bool) -> list[str]:
    """Print each hot query's EXPLAIN ANALYZE figures; return the sequential scans found."""
    from django.conf import settings
    from django.db import connection

    problems = []
    for name, action in hot_queries(now, settings.RUN_RETENTION_DAYS).items():
        with connection.cursor() as cursor:
            for sql in captured_selects(action):
                plan = explain(cursor, sql)
                scans = sequential_scans(plan)
                problems += [f"{name}: Seq Scan on {table}" for table in scans]
                print(
                    f"  {name:46} {plan['Execution Time']:9.1f} ms  "
                    f"indexes: {', '.join(sorted(indexes_used(plan))) or '-'}"
                    + (f"  SEQ SCAN: {', '.join(sorted(scans))}" if scans else "")
                )
                if verbose:
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                    print("\n".join(f"      {row[0]}" for row in cursor.fetchall()))
    return problems


def time_prune(now: datetime) -> None:
    """One batch as the task takes it, then the whole prune of what is left past retention."""
    from django.conf import settings
    from django.db import transaction

    from alerts.retention import old_runs, prune_history

    candidates = old_runs(now - timedelta(days=settings.RUN_RETENTION_DAYS))
    started = time.perf_counter()
    ids = list(candidates.values_list("pk", flat=True)[:5000])
    with transaction.atomic():
        _, deleted = candidates.filter(pk__in=ids).delete()
    batch = time.perf_counter() - started
    print(f"  one batch of runs (select + delete)            {batch * 1000:9.1f} ms  {deleted}")
    started = time.perf_counter()
    report = prune_history(now, budget_seconds=3600)
    seconds = time.perf_counter() - started
    rows = sum(report.deleted.values())
    print(
        f"  prune_history of the rest: {rows:,} rows in {report.batches} batches, {seconds:.1f} s"
        f" ({rows / max(seconds, 1e-9):,.0f} rows/s) {dict(report.deleted)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=91.0)
    parser.add_argument("--verbose", action="store_true", help="Print every plan in full.")
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    args = parser.parse_args()
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        print("TEST_POSTGRES_URL is not set: source /tmp/confops-services/env.sh", file=sys.stderr)
        return 1
    base, name = configure(server)
    import django
    from django.core.management import call_command

    django.setup()
    try:
        call_command("migrate", verbosity=0)
        now = datetime.now(UTC)
        print(f"storage benchmark: {machine()}")
        seconds = seed(args, now)
        print(
            f"filled {args.runs:,} runs, {args.deployments} deployments, {args.sources:,} sources,"
            f" {args.days:g} days in {seconds:.1f} s"
        )
        for table, rows, size in table_sizes():
            print(f"  {table:24} {rows:>12,} rows {size:>10}")
        problems = report_queries(now, args.verbose)
        time_prune(now)
    finally:
        if not args.keep:
            drop(base, name)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
