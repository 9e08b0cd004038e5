"""Helpers shared by the rule kinds; not a kind itself (it registers nothing).

Parameter checks live here because pydantic's own wording ("Input should be greater than 0")
reads badly in the admin, and the contract asks for "percent: must be at most 100". The rest
keeps the kinds' summaries consistent: one way to pick metric values, print numbers and spans.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import AfterValidator

from alerts.rules.base import RunSample, SourceHistory
from confops.common.formatting import number

# Upper bounds that keep timedelta arithmetic finite; far beyond any sensible threshold.
MAX_MINUTES = 31 * 24 * 60
MAX_HOURS = 366 * 24
MAX_DAYS = 366

METRIC_KEY = re.compile(r"[A-Za-z0-9_.:/-]+")


def limits(
    *, gt: float | None = None, ge: float | None = None, le: float | None = None
) -> AfterValidator:
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

    return AfterValidator(check)


def check_metric_key(value: str) -> str:
    """Metric keys are matched literally; the character set keeps typos like spaces out."""
    if len(value) > 100:
        raise ValueError("must be at most 100 characters")
    if not METRIC_KEY.fullmatch(value):
        raise ValueError("must look like count or dagster/duplicates (letters, digits, _ . : / -)")
    return value


MetricKey = Annotated[str, AfterValidator(check_metric_key)]


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
    """Successful runs that reported ``metric``, newest first; runs without it are skipped."""
    samples = []
    for run in history.successes():
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
    }
