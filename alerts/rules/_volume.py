"""Which values the volume kinds judge: the source's volume key, in one partition series.

Not a kind itself (it registers nothing). The key is ``monitoring.volume.volume_key``'s choice
when a rule asks for ``auto``, so the rules, the grid and the chart agree. The series keeps the
runs of the latest run's partition pattern (daily ``2026-12-05`` and monthly ``2026-12`` are two
series) and leaves out runs that re-materialise an old partition (backfills, "re-run last
week"): a small old partition is neither a baseline nor a drop.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

from alerts.rules._common import Sample, metric_key_check, metric_samples
from alerts.rules.base import SourceHistory
from monitoring.volume import volume_key

# The parameter value that lets each source's volume key be chosen for it.
AUTO = "auto"
# Partition key shapes with a date, longest first, and the spacing of their partitions.
DATED_SHAPES = (
    ("%Y-%m-%d-%H:%M", timedelta(hours=1)),
    ("%Y-%m-%d", timedelta(days=1)),
    ("%Y-%m", timedelta(days=31)),
)
DATE_PREFIX = re.compile(r"\d{4}-\d{2}(?:-\d{2}(?:-\d{2}:\d{2})?)?")


# ``auto`` or a metadata key (``auto`` is shaped like one, so the key check accepts it).
VolumeMetric = Annotated[
    str, AfterValidator(metric_key_check("be auto or a key like dagster/row_count"))
]
METRIC_DESCRIPTION = (
    "Which metadata key is the volume (e.g. dagster/row_count); auto uses the source's own."
)


def chosen_metric(history: SourceHistory, metric: str) -> str | None:
    """The key a rule judges: its own, or with ``auto`` the source's volume key (None: none)."""
    if metric != AUTO:
        return metric
    reported = {name for run in history.produced() for name in run.metrics}
    return volume_key(history.volume_metric, reported | set(history.metric_keys))


def volume_samples(history: SourceHistory, metric: str) -> list[Sample]:
    """``metric_samples`` of the newest kept run's partition pattern, newest first, without
    the runs that materialised an old partition (each judged against the runs before it).
    Worked out once per history and metric (volume_drop, volume_bounds and volume_anomaly
    all ask): the list is shared, read it only."""
    return history.remember(("volume_samples", metric), lambda: comparable_samples(history, metric))


def comparable_samples(history: SourceHistory, metric: str) -> list[Sample]:
    kept: list[Sample] = []
    # The newest partition of each pattern among the kept runs: one pass, not one per run
    # (that was quadratic, 2.4 of the 3.6 s of an evaluation of 1,000 sources).
    newest: dict[str, str] = {}
    for sample in reversed(metric_samples(history, metric)):
        partition = sample.run.partition
        pattern = partition_pattern(partition)
        if old_partition(partition, sample.run.backfill_id, newest.get(pattern)):
            continue
        kept.append(sample)
        if partition and partition > newest.get(pattern, ""):
            newest[pattern] = partition
    if not kept:
        return []
    pattern = partition_pattern(kept[-1].run.partition)
    return [s for s in reversed(kept) if partition_pattern(s.run.partition) == pattern]


def old_partition(partition: str, backfill_id: str, newest: str | None) -> bool:
    """A backfill of a partition older than the newest one of its pattern before it, or any run
    of a dated partition older than that by more than the spacing of its partitions (a retry of
    yesterday's partition after today's is not old); an unpartitioned run is never old."""
    if not partition or not newest:
        return False
    if backfill_id and partition < newest:
        return True
    start, newest_start = partition_start(partition), partition_start(newest)
    spacing = partition_spacing(partition)
    if start is None or newest_start is None or spacing is None:
        return False
    return start < newest_start - spacing


@lru_cache(maxsize=4096)
def partition_pattern(partition: str) -> str:
    """The partition key's shape: its digits as 9 (``9999-99-99`` daily, ``9999-99`` monthly);
    a static key (a retailer's name) is its own series."""
    return re.sub(r"\d", "9", partition)


def partition_start(partition: str) -> datetime | None:
    """When a dated partition begins (its leading date), None for other keys."""
    match = DATE_PREFIX.match(partition)
    if match is None:
        return None
    for fmt, _ in DATED_SHAPES:
        try:
            return datetime.strptime(match.group(), fmt)
        except ValueError:
            continue
    return None


def partition_spacing(partition: str) -> timedelta | None:
    """How far apart two consecutive partitions of this shape are (weekly keys look daily and
    are spaced a day, so a re-run of the previous week counts as old)."""
    match = DATE_PREFIX.match(partition)
    if match is None:
        return None
    for fmt, spacing in DATED_SHAPES:
        try:
            datetime.strptime(match.group(), fmt)
        except ValueError:
            continue
        return spacing
    return None
