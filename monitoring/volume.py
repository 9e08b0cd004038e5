"""Which metadata key measures a source's volume, and the numeric keys each source reports.

Dagster projects name their volume differently: ``dagster/row_count`` (dagster-dbt, Sling, dlt),
``sku_count``, ``rows``, ``num_records``, ``Number of records``. The default volume rules, the
status grid's "Count" and the source page's chart all ask ``volume_key`` so that they judge and
show the same key: the operator's choice, then Dagster's standard key, then the one key whose
name says it counts rows or records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

# A metadata key's name: words of letters, digits and _ . : / - with single spaces between them
# (Dagster's course reports "Number of records"); rules, pushed runs and the replay share it.
METRIC_NAME_PATTERN = r"^(?=.{1,100}$)[A-Za-z0-9_.:/-]+(?: [A-Za-z0-9_.:/-]+)*$"
METRIC_NAME = re.compile(METRIC_NAME_PATTERN)
METRIC_NAME_HINT = "letters, digits, single spaces and _ . : / -"
# Dagster's standard row count, emitted by its dbt, Sling and dlt integrations.
ROW_COUNT = "dagster/row_count"
# Names that say they count rows or records (case-insensitive, spaces allowed).
COUNTING = re.compile(
    r".*count.*|rows?|records?|num[_ ].+|number[_ ]of[_ ].+|n[_ ]?(rows|records)",
    re.IGNORECASE,
)
# When several names count, these (in this order) are taken as the volume; others are ambiguous.
PREFERRED = ("count", "row_count", "rows", "records", "num_rows", "num_records")
# A source that reports more keys than this keeps only the first ones seen.
MAX_KEYS = 100


def validate_metric_name(value: str) -> None:
    """The model's check of an operator's volume key ("" is the automatic choice)."""
    if value and not METRIC_NAME.fullmatch(value):
        raise ValidationError(f"Metadata keys are 1 to 100 characters: {METRIC_NAME_HINT}.")


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers among a run's metadata (booleans are not volumes)."""
    return {
        str(name): float(value)
        for name, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def counts_rows(name: str) -> bool:
    """Whether the key's name says it counts rows or records."""
    return bool(COUNTING.fullmatch(name.strip()))


def volume_key(chosen: str, keys: Iterable[str]) -> str | None:
    """The key a source's volume is judged and shown by; None when nothing says which.

    ``chosen`` is the operator's choice (``Source.volume_metric``, "" for none) and wins even if
    the source has not reported it yet; then ``dagster/row_count``; then the single key whose
    name counts rows or records (of several, the first of ``PREFERRED`` among them).
    """
    if chosen:
        return chosen
    names = set(keys)
    if ROW_COUNT in names:
        return ROW_COUNT
    counting = sorted(name for name in names if counts_rows(name))
    if len(counting) == 1:
        return counting[0]
    return next((name for name in PREFERRED if name in counting), None)


def source_volume_key(
    chosen: str, metric_keys: Mapping[str, Any], last_metrics: Mapping[str, Any]
) -> str | None:
    """``volume_key`` of a source's row: the keys it ever reported and its latest metrics."""
    return volume_key(chosen, [*metric_keys, *numeric_metrics(last_metrics)])


def fold_metric_keys(
    known: Mapping[str, Any], metrics: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    """``known`` with one more report of each numeric key in ``metrics``.

    Each key keeps its last value, how many successes reported it and when it was last seen:
    what the operator picks the volume key from.
    """
    keys = {name: dict(entry) for name, entry in known.items()}
    for name, value in numeric_metrics(metrics).items():
        if name not in keys and len(keys) >= MAX_KEYS:
            continue
        entry = keys.setdefault(name, {"reports": 0})
        entry.update(last=value, reports=int(entry.get("reports", 0)) + 1, at=at.isoformat())
    return keys
