"""Dagster runs that stay in a status they should leave: queued and never started, or starting
or canceling for ever (a dead run queue daemon, a zero concurrency limit, a run worker that never
came up, a cancel nobody carries out)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from alerts.choices import RuleTarget
from alerts.rules._common import MAX_MINUTES, iso, limits
from alerts.rules.base import DeploymentHistory, Finding, OpenRun, Params, RuleKind, register
from alerts.rules.missed_schedule import MissedSchedule
from alerts.rules.stale import Stale
from confops.common.formatting import span

# Runs a summary names one by one; the details list every one.
RUNS_NAMED = 3


def some_status(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("must name at least one status")
    return value


class RunStuckParams(Params):
    statuses: Annotated[
        tuple[Literal["QUEUED", "STARTING", "CANCELING", "NOT_STARTED"], ...],
        AfterValidator(some_status),
    ] = Field(("QUEUED",), description="Which waiting statuses count as stuck.")
    minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] = Field(
        15, description="How long a run may sit in one of those statuses before it fires."
    )


@register
class RunStuck(RuleKind):
    """Fires while a run of the deployment has been in one of ``statuses`` for ``minutes`` or
    more (QUEUED counted from its creation, others from its last status change); clears when
    none is. One alert per deployment lists every stuck run. Not judged while polls fail: the
    stored statuses are then old (``deployment_unreachable`` tells that story)."""

    name = "run_stuck"
    label = "Runs stuck (queued, starting or canceling)"
    target = RuleTarget.DEPLOYMENT
    params = RunStuckParams
    time_based = True
    # Runs that do not start produce nothing: their sources go stale and miss schedules.
    explains = frozenset({Stale.name, MissedSchedule.name})

    def threshold(self, params: RunStuckParams) -> str:
        """How long a run may wait in those statuses."""
        return f"after {span(params.minutes * 60)}"

    def next_deployment_change(
        self, history: DeploymentHistory, params: RunStuckParams, now: datetime
    ) -> datetime | None:
        """When the next waiting run passes the limit; a stuck one stays stuck until a poll."""
        if not history.enabled or history.failing_since:
            return None
        limit = timedelta(minutes=params.minutes)
        coming = [
            run.since + limit
            for run in history.open_runs
            if run.status in params.statuses and run.since + limit > now
        ]
        return min(coming, default=None)

    def evaluate_deployment(
        self, history: DeploymentHistory, params: RunStuckParams, now: datetime
    ) -> Finding | None:
        limit = timedelta(minutes=params.minutes)
        stuck = [
            run
            for run in history.open_runs
            if run.status in params.statuses and now - run.since >= limit
        ]
        if not history.enabled or history.failing_since or not stuck:
            return None
        stuck.sort(key=lambda run: run.since)
        return Finding(
            summary=summary(history.name, stuck, now),
            since=stuck[0].since + limit,
            details={
                "minutes": params.minutes,
                "runs": [
                    {"run_id": r.run_id, "job": r.job, "status": r.status, "since": iso(r.since)}
                    for r in stuck
                ],
            },
        )


def summary(deployment: str, stuck: list[OpenRun], now: datetime) -> str:
    oldest = stuck[0]
    statuses = "/".join(sorted({run.status for run in stuck}))
    age = span((now - oldest.since).total_seconds())
    if len(stuck) == 1:
        return f"{deployment}: run {oldest.run_id[:8]} ({oldest.job}) {statuses} for {age}"
    jobs = ", ".join(sorted({run.job for run in stuck})[:RUNS_NAMED])
    more = "…" if len({run.job for run in stuck}) > RUNS_NAMED else ""
    return f"{deployment}: {len(stuck)} runs {statuses}, the oldest for {age} ({jobs}{more})"
