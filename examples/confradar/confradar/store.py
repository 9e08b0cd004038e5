"""SQLite storage for scraped conferences: one row per edition, upserted by its natural key.

Sources overlap (wikicfp lists most of what aclweb.org lists), so records are merged across
sources by (acronym, year), the most authoritative source's fields winning. A record repeated
*within* one source is a scraper bug: it is counted as a duplicate and dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confradar.records import SOURCES, Record, natural_key

DB_ENV = "CONFRADAR_DB"
DB_FILE_NAME = "confradar.sqlite3"

CONTENT_COLUMNS: tuple[str, ...] = (
    "name",
    "url",
    "submission_deadline",
    "notification_date",
    "start_date",
    "end_date",
    "city",
    "country",
    "format",
    "field",
    "topics",
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS conferences (
    acronym TEXT NOT NULL,
    year INTEGER NOT NULL,
    {", ".join(f"{c} TEXT" for c in CONTENT_COLUMNS)},
    sources TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (acronym, year)
);
CREATE TABLE IF NOT EXISTS crawls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT,
    finished_at TEXT NOT NULL,
    stats TEXT NOT NULL
);
"""


def db_path(env: Mapping[str, str] | None = None) -> Path:
    """``CONFRADAR_DB``, else a file in ``DAGSTER_HOME``, else one in the temp directory."""
    env = os.environ if env is None else env
    if env.get(DB_ENV):
        return Path(env[DB_ENV]).expanduser()
    if env.get("DAGSTER_HOME"):
        return Path(env["DAGSTER_HOME"]).expanduser() / DB_FILE_NAME
    return Path(tempfile.gettempdir()) / DB_FILE_NAME


@dataclass
class StoreStats:
    """What one crawl did to the table; becomes the asset's metadata."""

    total_scraped: int = 0
    distinct_conferences: int = 0
    new_conferences: int = 0
    updated_conferences: int = 0
    unchanged_conferences: int = 0
    duplicates: int = 0
    skipped_invalid: int = 0
    duplicates_by_source: dict[str, int] = field(default_factory=dict)
    duplicate_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def merge_sources(
    batches: Mapping[str, Sequence[Record]],
) -> tuple[dict[tuple[str, int], Record], StoreStats]:
    """Merge every source's records into one record per edition, counting duplicates."""
    stats = StoreStats()
    merged: dict[tuple[str, int], Record] = {}
    seen: set[tuple[str, tuple[str, int]]] = set()
    dupes: Counter[str] = Counter()
    order = sorted(batches, key=lambda name: -SOURCES[name].priority if name in SOURCES else 0)
    for source in order:
        for record in batches[source]:
            stats.total_scraped += 1
            key = natural_key(record)
            if not key[0] or not key[1]:
                stats.skipped_invalid += 1
                continue
            if (source, key) in seen:
                dupes[source] += 1
                if len(stats.duplicate_keys) < 20:
                    stats.duplicate_keys.append(f"{source}:{key[0]}-{key[1]}")
                continue
            seen.add((source, key))
            domain = str(record.get("source") or source)
            if key in merged:
                merged[key]["sources"].add(domain)
            else:
                merged[key] = dict(record, sources={domain})
    stats.duplicates = sum(dupes.values())
    stats.duplicates_by_source = dict(dupes)
    stats.distinct_conferences = len(merged)
    return merged, stats


def _row(record: Record) -> dict[str, Any]:
    row = {c: record.get(c) for c in CONTENT_COLUMNS}
    row["topics"] = json.dumps(record.get("topics") or [])
    for column in CONTENT_COLUMNS:
        if row[column] is not None:
            row[column] = str(row[column])
    return row


def store_batches(
    batches: Mapping[str, Sequence[Record]],
    path: Path,
    *,
    run_id: str | None = None,
    now: dt.datetime | None = None,
) -> StoreStats:
    """Upsert all sources' records into the SQLite file at ``path`` in one transaction."""
    merged, stats = merge_sources(batches)
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    try:
        with conn:
            conn.executescript(SCHEMA)
            existing = {
                (acronym, year): tuple(rest)
                for acronym, year, *rest in conn.execute(
                    f"SELECT acronym, year, {', '.join(CONTENT_COLUMNS)} FROM conferences"
                )
            }
            columns = ", ".join(CONTENT_COLUMNS)
            placeholders = ", ".join(f":{c}" for c in CONTENT_COLUMNS)
            updates = ", ".join(f"{c} = excluded.{c}" for c in CONTENT_COLUMNS)
            sql = (
                f"INSERT INTO conferences (acronym, year, {columns}, sources, first_seen, "
                f"last_seen) VALUES (:acronym, :year, {placeholders}, :sources, :now, :now) "
                f"ON CONFLICT (acronym, year) DO UPDATE SET {updates}, "
                "sources = excluded.sources, last_seen = excluded.last_seen"
            )
            for key, record in merged.items():
                row = _row(record)
                before = existing.get(key)
                if before is None:
                    stats.new_conferences += 1
                elif before != tuple(row[c] for c in CONTENT_COLUMNS):
                    stats.updated_conferences += 1
                else:
                    stats.unchanged_conferences += 1
                row.update(
                    acronym=key[0],
                    year=key[1],
                    sources=json.dumps(sorted(record["sources"])),
                    now=stamp,
                )
                conn.execute(sql, row)
            conn.execute(
                "INSERT INTO crawls (run_id, finished_at, stats) VALUES (?, ?, ?)",
                (run_id, stamp, json.dumps(stats.as_dict())),
            )
    finally:
        conn.close()
    return stats


def count_rows(path: Path) -> int:
    """Number of conference editions stored so far (0 if the file does not exist yet)."""
    if not path.exists():
        return 0
    conn = sqlite3.connect(path, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM conferences").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
