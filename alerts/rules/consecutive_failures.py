"""Several final failures in a row, with hysteresis so one lucky run does not clear it."""

from __future__ import annotations

from datetime import datetime
from itertools import takewhile
from typing import Annotated, Any

from pydantic import Field

from alerts.rules._common import RUNS, first_line, iso, limits, partitions_text, source_state_runs
from alerts.rules.base import Finding, Loosening, Params, RuleKind, SourceHistory, register


class ConsecutiveFailuresParams(Params):
    failures: Annotated[int, limits(ge=1)] = Field(
        2,
        description="How many final failures in a row it takes to fire.",
        json_schema_extra=RUNS,
    )
    recover_after: Annotated[int, limits(ge=1)] = Field(
        1,
        description="How many successes in a row it takes to clear once fired.",
        json_schema_extra=RUNS,
    )


@register
class ConsecutiveFailures(RuleKind):
    """Fires after N final failures in a row; clears only after M successes in a row.

    Stateless hysteresis: newest first, a leading streak of at least M successes means
    recovered; a shorter one is looked past, and the failures right behind it are counted.
    Canceled runs, upstream skips and failures that will be retried are passed over, and so
    is a success of an older partition than those failing (``_common.source_state_runs``).
    """

    name = "consecutive_failures"
    cause = True
    label = "Consecutive failures"
    params = ConsecutiveFailuresParams
    overridable = ("failures",)

    def loosened(self, parameters: dict[str, Any]) -> Loosening:
        """One more failure in a row (a whole number: it counts runs)."""
        current = int(parameters.get("failures", 2))
        return Loosening("failures", current, current + 1)

    def threshold(self, params: ConsecutiveFailuresParams) -> str:
        """Failures in a row."""
        return f"after {params.failures} failure{'s' if params.failures != 1 else ''}"

    def evaluate_source(
        self, history: SourceHistory, params: ConsecutiveFailuresParams, now: datetime
    ) -> Finding | None:
        runs = source_state_runs(history)
        successes = sum(1 for _ in takewhile(lambda run: run.succeeded, runs))
        if successes >= params.recover_after:
            return None
        failures = list(takewhile(lambda run: run.failed_finally, runs[successes:]))
        if len(failures) < params.failures:
            return None
        first, last = failures[-1], failures[0]
        recovering = f", {successes} success since (needs {params.recover_after})"
        partitions = [run.partition for run in failures if run.partition]
        which = f" ({partitions_text(partitions)})" if partitions else ""
        details = {
            "failures": len(failures),
            "successes_since": successes,
            "first_failure_at": iso(first.at),
            "run_ids": [run.run_id for run in failures],
            "error": last.error,
        }
        if partitions:
            details["partitions"] = sorted(set(partitions))
        return Finding(
            summary=f"{history.key} failed {len(failures)} runs in a row{which}"
            f"{recovering if successes else ''}: {first_line(last.error) or 'no error message'}",
            since=first.at or now,
            details=details,
            run_id=last.run_id,
        )
