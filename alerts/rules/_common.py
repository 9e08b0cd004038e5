"""Helpers shared by the rule kinds; not a kind itself (it registers nothing).

Parameter checks live here because pydantic's own wording ("Input should be greater than 0")
reads badly in the admin, and the contract asks for "percent: must be at most 100". The rest
keeps the kinds' summaries consistent: one way to pick metric values, print numbers and spans.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic.json_schema import JsonDict

from alerts.rules.base import RunSample, SourceHistory
from confops.common.formatting import number
from monitoring.volume import METRIC_NAME, METRIC_NAME_HINT

# Upper bounds that keep timedelta arithmetic finite; far beyond any sensible threshold.
MAX_MINUTES = 31 * 24 * 60
MAX_HOURS = 366 * 24
MAX_DAYS = 366

# The unit of a parameter that counts runs but whose name does not say so (``param_fields``).
RUNS: JsonDict = {"unit": "runs"}

# A failed partition that newer partitions have passed by stays an open failure this long after
# it failed, unless re-run successfully: on-call sees it through a week of newer successes, and
# a partition nobody re-ran in a week is taken as given up (docs/incidents.md, "Partitions").
PARTITION_FAILURE_OPEN = timedelta(days=7)
# Partitions a summary names one by one; more read as a range: "a … b (7 partitions)".
PARTITIONS_LISTED = 3
# A partition key that starts with a date sorts in time order (daily, weekly, monthly, hourly).
DATED_KEY = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True, slots=True)
class Limits(AfterValidator):
    """The bounds check of ``limits``, carrying its bounds so that a form can show them (and
    set ``min``/``max`` on its inputs) from the schema rather than from a copy."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None


def limits(*, gt: float | None = None, ge: float | None = None, le: float | None = None) -> Limits:
    """A bounds check on a number with messages a person can act on."""

    def check(value: Any) -> Any:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if gt is not None and not value > gt:
            raise ValueError(f"must be greater than {number(gt)}")
        if ge is not None and not value >= ge:
            raise ValueError(f"must be at least {number(ge)}")
        if le is not None and not value <= le:
            raise ValueError(f"must be at most {number(le)}")
        return value

    return Limits(check, gt=gt, ge=ge, le=le)


def metric_key_check(expected: str) -> Callable[[str], str]:
    """A parameter check for a metadata key, its error saying what was ``expected``. Keys are
    matched literally; single spaces between words are allowed (Dagster's course reports
    "Number of records"), other marks are typos."""

    def check(value: str) -> str:
        if len(value) > 100:
            raise ValueError("must be at most 100 characters")
        if not METRIC_NAME.fullmatch(value):
            raise ValueError(f"must {expected} ({METRIC_NAME_HINT})")
        return value

    return check


MetricKey = Annotated[
    str, AfterValidator(metric_key_check("look like count or dagster/duplicates"))
]


def matches(name: str, pattern: str | None) -> bool:
    """An empty or missing glob matches everything; matching is case-sensitive like Dagster."""
    return not pattern or fnmatchcase(name, pattern)


@dataclass(frozen=True)
class Sample:
    """One successful run's value of a metric, with the time it was produced."""

    run: RunSample
    at: datetime
    value: float


def metric_samples(history: SourceHistory, metric: str) -> list[Sample]:
    """Successful runs and runless events (materialisations, observations) that reported
    ``metric``, newest first in one series; those without it are skipped."""
    samples = []
    for run in history.produced():
        value = run.metrics.get(metric)
        if value is not None and run.at is not None and math.isfinite(value):
            samples.append(Sample(run, run.at, float(value)))
    return samples


def utc_weekday(moment: datetime) -> int:
    """Weekdays in UTC, so a baseline does not shift with the viewer's or server's zone."""
    return moment.astimezone(UTC).weekday()


def decided_runs(history: SourceHistory) -> list[RunSample]:
    """Runs with a verdict on this source, newest first.

    A canceled run, a run that skipped this source because an upstream failed, and a failure
    Dagster will retry say nothing yet about whether the source itself works.
    """
    return [run for run in history.runs if run.succeeded or run.failed_finally]


def failed_partitions(history: SourceHistory, now: datetime) -> list[RunSample]:
    """The final failures still open, newest first: per partition, the latest decided run when
    it failed. A success of partition Q says nothing about partition P; the newest run's
    partition is the source's state and stays open however old; an older partition's failure
    stays open ``PARTITION_FAILURE_OPEN`` after it failed. An unpartitioned source has one
    partition (""): its latest decided run, as before partitions were judged."""
    runs = decided_runs(history)
    latest: dict[str, RunSample] = {}
    for run in runs:
        latest.setdefault(run.partition, run)
    return [
        run
        for run in latest.values()
        if run.failed_finally
        and (run is runs[0] or (run.at is not None and now - run.at <= PARTITION_FAILURE_OPEN))
    ]


def source_state_runs(history: SourceHistory) -> list[RunSample]:
    """Decided runs, newest first, without the successes that say nothing about the failures
    before them: a success of another, older partition (re-running last week does not mend
    today). A success counts when it is unpartitioned, re-runs a partition that failed since
    the last counted success, or is of a newer dated partition than all of them."""
    kept: list[RunSample] = []
    failed: set[str] = set()
    for run in reversed(decided_runs(history)):
        if run.failed_finally:
            failed.add(run.partition)
        elif counts_for(run.partition, failed):
            failed = set()
        else:
            continue
        kept.append(run)
    return kept[::-1]


def counts_for(partition: str, failed: set[str]) -> bool:
    """Whether a success of ``partition`` speaks for the failures of ``failed`` partitions."""
    if not partition or not failed or partition in failed or "" in failed:
        return True
    dated = DATED_KEY.match(partition) and all(DATED_KEY.match(key) for key in failed)
    return bool(dated) and partition > max(failed)


def partitions_text(keys: list[str]) -> str:
    """Partition keys in order, for a summary: "2026-12-05", "a, b, c", or a range with a
    count once there are more than ``PARTITIONS_LISTED``: "2026-11-01 … 2026-11-07 (7
    partitions)"."""
    ordered = sorted(set(keys))
    if len(ordered) <= PARTITIONS_LISTED:
        return ", ".join(ordered)
    return f"{ordered[0]} … {ordered[-1]} ({len(ordered)} partitions)"


def first_line(text: str, limit: int = 200) -> str:
    """The line of an error a person reads first (tracebacks follow on later lines)."""
    line = next((part.strip() for part in text.strip().splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_details(run: RunSample) -> dict[str, Any]:
    """The facts about a run that every finding about it carries (JSON-serialisable)."""
    return {
        "run_id": run.run_id,
        "status": run.status,
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "url": run.url,
        **({"runless": run.outcome} if run.runless else {}),
        **({"partition": run.partition} if run.partition else {}),
        **({"backfill_id": run.backfill_id} if run.backfill_id else {}),
    }
