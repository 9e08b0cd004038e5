"""The latest verdict on a source is a failure Dagster will not retry."""

from __future__ import annotations

from datetime import datetime

from alerts.rules._common import decided_runs, first_line, run_details
from alerts.rules.base import Finding, Params, RuleKind, RunSample, SourceHistory, register


class RunFailedParams(Params):
    """No parameters: a final failure is a failure."""


@register
class RunFailed(RuleKind):
    """Fires on the latest run's final failure and clears once a newer run succeeds.

    Canceled runs, runs that skipped this source because an upstream failed and failures that
    will be retried are passed over, so they neither fire nor clear the alert.
    """

    name = "run_failed"
    cause = True
    label = "Run failed"
    params = RunFailedParams

    def evaluate_source(
        self, history: SourceHistory, params: RunFailedParams, now: datetime
    ) -> Finding | None:
        latest = next(iter(decided_runs(history)), None)
        if latest is None or not latest.failed_finally:
            return None
        return Finding(
            summary=failure_summary(history.key, latest),
            since=latest.at or now,
            details={**run_details(latest), "error": latest.error, "step": latest.failed_step},
            run_id=latest.run_id,
        )


def failure_summary(key: str, run: RunSample) -> str:
    where = f" in step {run.failed_step}" if run.failed_step else ""
    return f"{key} failed{where}: {first_line(run.error) or 'no error message'}"
