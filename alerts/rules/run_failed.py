"""The latest verdict on a source is a failure Dagster will not retry."""

from __future__ import annotations

from datetime import datetime

from alerts.rules._common import failed_partitions, first_line, iso, partitions_text, run_details
from alerts.rules.base import Finding, Params, RuleKind, RunSample, SourceHistory, register


class RunFailedParams(Params):
    """No parameters: a final failure is a failure."""


@register
class RunFailed(RuleKind):
    """Fires on the latest run's final failure and clears once a newer run succeeds.

    Judged per partition: a partition's failure clears when a newer run of that partition
    succeeds, never by another partition's success (``_common.failed_partitions``); failed
    partitions of one source (a backfill) are one finding that lists them. Canceled runs, runs
    that skipped this source because an upstream failed and failures that will be retried are
    passed over, so they neither fire nor clear the alert.
    """

    name = "run_failed"
    cause = True
    label = "Run failed"
    params = RunFailedParams

    def evaluate_source(
        self, history: SourceHistory, params: RunFailedParams, now: datetime
    ) -> Finding | None:
        failed = failed_partitions(history, now)
        if not failed:
            return None
        latest = failed[0]
        details = {**run_details(latest), "error": latest.error, "step": latest.failed_step}
        partitions = [run.partition for run in failed if run.partition]
        if partitions:
            details["partitions"] = sorted(partitions)
            details["run_ids"] = [run.run_id for run in failed]
            details["first_failure_at"] = iso(min((r.at for r in failed if r.at), default=None))
        return Finding(
            summary=failure_summary(history.key, latest, partitions),
            since=latest.at or now,
            details=details,
            run_id=latest.run_id,
        )


def failure_summary(key: str, run: RunSample, partitions: list[str] | None = None) -> str:
    """ "orders failed for partition 2026-12-05 in step load: HTTP 503"; unpartitioned runs
    read as before partitions were shown."""
    keys = partitions or []
    which = f" for partition{'s' if len(keys) > 1 else ''} {partitions_text(keys)}" if keys else ""
    where = f" in step {run.failed_step}" if run.failed_step else ""
    return f"{key} failed{which}{where}: {first_line(run.error) or 'no error message'}"
