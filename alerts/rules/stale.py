"""No success for longer than expected."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, NamedTuple

from pydantic import Field

from alerts.rules._common import MAX_HOURS, MAX_MINUTES, iso, limits
from alerts.rules.base import Finding, Loosening, Params, RuleKind, SourceHistory, register
from confops.common.formatting import number, span
from monitoring.cadence import (
    Cadence,
    TimePartitions,
    cron_period,
    from_schedules,
    next_tick,
    time_partitions,
)

# What a source may go without a success when nothing tells its cadence (and the report's
# freshness limit, which judges without a source's history).
FALLBACK_HOURS = 24.0
# How late an expected success may come before the source is stale: one interval (a 2-hourly
# source misses one run), at most this (a daily job is not left a day late).
MAX_LATENESS = timedelta(hours=2)


class StaleParams(Params):
    # None: judged by the source's cadence (see Stale); a number is a fixed limit for all.
    max_age_hours: Annotated[float, limits(gt=0, le=MAX_HOURS)] | None = Field(
        None,
        description="A fixed age of the last success after which it fires; empty follows the "
        "source's cadence.",
    )
    # Runs end a little earlier or later each day; without grace a daily job would go stale
    # for a few minutes whenever today's run ends later than yesterday's.
    grace_minutes: Annotated[float, limits(ge=0, le=MAX_MINUTES)] = Field(
        30, description="Extra time past the expected success before it fires."
    )


@register
class Stale(RuleKind):
    """Fires when no success came when the source's cadence expected one; clears at the next.

    With ``max_age_hours`` unset, the limit follows the source's cadence
    (``monitoring.cadence``): stale once the next success is overdue by one expected interval
    (at most ``MAX_LATENESS``) plus ``grace_minutes``. From the last success: a 2-hourly
    source is due at +2 h and stale after 4 h 30 min; a daily job at +24 h and stale after
    26 h 30 min; a weekday-only job that succeeded on Friday 06:10 is due Monday 06:10 and
    stale Monday 08:40, never at the weekend; a weekly job is stale 7 d 2 h 30 min after its
    last success, one missed run. A freshness policy declared in Dagster is the deadline
    itself (plus grace). When nothing is known (no policy, schedule, cron nor four successes
    to learn from) the limit is 24 h + grace. A number in ``max_age_hours`` (the rule's or a
    source's override) is a fixed limit instead.

    A source that never succeeded is measured from when confops first saw it, so a new source
    gets the same allowance instead of being stale at once.
    """

    name = "stale"
    consequence = True
    label = "Stale (no recent success)"
    params = StaleParams
    overridable = ("max_age_hours", "grace_minutes")
    time_based = True

    def loosened(self, parameters: dict[str, Any]) -> Loosening:
        """Half as long again (from the fallback when the rule follows cadence)."""
        current = float(parameters.get("max_age_hours") or FALLBACK_HOURS)
        return Loosening("max_age_hours", current, current * 1.5)

    def freshness_limit(self, params: StaleParams) -> timedelta:
        """The fixed limit, or the fallback one for a rule that follows cadence (the daily
        report judges without the sources' histories)."""
        hours = FALLBACK_HOURS if params.max_age_hours is None else params.max_age_hours
        return timedelta(hours=hours, minutes=params.grace_minutes)

    def threshold(self, params: StaleParams) -> str:
        """A fixed limit, or the source's cadence with its grace."""
        if params.max_age_hours is not None:
            return f"later than {span(params.max_age_hours * 3600)}"
        return f"cadence + {span(params.grace_minutes * 60)}"

    def next_check(self, history: SourceHistory, params: StaleParams, now: datetime) -> datetime:
        """The deadline, or sooner the moment the next partition exists (its own deadline may
        come first); every pass once stale (the finding's age moves)."""
        judged = judge(history, params, now)
        if now > judged.deadline:
            return now
        return min(judged.deadline, judged.partition_exists_at or judged.deadline)

    def next_finding_change(
        self, history: SourceHistory, params: StaleParams, now: datetime
    ) -> datetime | None:
        """An unpartitioned source once stale stays stale until a success (new data): judged
        again at every pass, it would find the same (its age aside)."""
        if not history.partitions_definition and now > judge(history, params, now).deadline:
            return None
        return self.next_check(history, params, now)

    def evaluate_source(
        self, history: SourceHistory, params: StaleParams, now: datetime
    ) -> Finding | None:
        judged = judge(history, params, now)
        deadline, limit, last_success = judged.deadline, judged.limit, judged.last_success
        reference, cadence = judged.reference, judged.cadence
        if now <= deadline:
            return None
        age = span((now - reference).total_seconds())
        summary = (
            f"{history.key} last succeeded {age} ago ({limit})"
            if last_success
            else f"{history.key} has not succeeded in the {age} since it was first seen ({limit})"
        )
        return Finding(
            summary=summary,
            since=deadline,
            details={
                "last_success_at": iso(last_success),
                "first_seen_at": iso(history.first_seen_at),
                "age_hours": round((now - reference).total_seconds() / 3600, 2),
                "max_age_hours": params.max_age_hours,
                "grace_minutes": params.grace_minutes,
                **cadence_details(cadence),
            },
        )


class Judged(NamedTuple):
    """When a source goes stale, and what the finding says about it."""

    deadline: datetime
    limit: str
    last_success: datetime | None
    reference: datetime
    cadence: Cadence | None
    # When the partition after the newest one will exist, if it does not yet: its own deadline
    # may then come before ``deadline``.
    partition_exists_at: datetime | None


def judge(history: SourceHistory, params: StaleParams, now: datetime) -> Judged:
    partitions = time_partitions(history.partitions_definition)
    if partitions is None:  # then nothing below reads ``now``: judged once per history
        key = ("stale", tuple(params.__dict__.items()))
        return history.remember(key, lambda: judge_at(history, params, now, partitions))
    return judge_at(history, params, now, partitions)


def judge_at(
    history: SourceHistory, params: StaleParams, now: datetime, partitions: TimePartitions | None
) -> Judged:
    newest = newest_partition(history, partitions)
    last_success = newest[1] if newest else latest_success(history)
    reference = last_success or history.first_seen_at
    cadence = history.cadence(reference) if params.max_age_hours is None else None
    deadline, limit = stale_at(reference, params, cadence)
    exists_at = None
    if partitions and newest and cadence and not cadence.declared:
        owed = partition_stale_at(history, partitions, newest[0], params, now)
        if owed and owed[0] <= deadline:
            deadline, limit = owed
        if owed is None:
            exists_at = partition_exists_at(partitions, newest[0])
    return Judged(deadline, limit, last_success, reference, cadence, exists_at)


def partition_exists_at(partitions: TimePartitions, newest_key: str) -> datetime | None:
    """When the partition after ``newest_key`` becomes available (``owed_since`` says since
    when it has been, once it is)."""
    newest = partitions.key_time(newest_key)
    following = next_tick(partitions.cron, partitions.timezone, newest) if newest else None
    return partitions.available_at(following) if following else None


def stale_at(
    reference: datetime, params: StaleParams, cadence: Cadence | None
) -> tuple[datetime, str]:
    """When a source whose last success is ``reference`` becomes stale, and the limit in words."""
    grace = timedelta(minutes=params.grace_minutes)
    if cadence is not None and cadence.interval is not None and cadence.due_by is not None:
        lateness = timedelta(0) if cadence.declared else min(cadence.interval, MAX_LATENESS)
        deadline = cadence.due_by + lateness + grace
        if cadence.declaration:
            return deadline, f"limit {span(deadline - reference)} from {cadence.declaration}"
        return deadline, f"{cadence.describe()}, limit {span(deadline - reference)}"
    hours = FALLBACK_HOURS if params.max_age_hours is None else params.max_age_hours
    limit = f"limit {number(hours)} h + {number(params.grace_minutes)} min"
    return reference + timedelta(hours=hours) + grace, limit


def newest_partition(
    history: SourceHistory, partitions: TimePartitions | None
) -> tuple[str, datetime] | None:
    """The newest partition key among the successes and runless events, and its latest one: a
    re-run, backfill or runless report of an older partition is not the source's state (its
    newest partition is)."""
    done = [(run.partition, run.at) for run in history.produced() if run.partition and run.at]
    if partitions is None or not done:
        return None
    key = max((k for k, _ in done), key=lambda k: (partitions.key_time(k) is not None, k))
    return key, max(at for k, at in done if k == key)


def partition_stale_at(
    history: SourceHistory,
    partitions: TimePartitions,
    newest_key: str,
    params: StaleParams,
    now: datetime,
) -> tuple[datetime, str] | None:
    """When the partition after the newest one is overdue: from when it exists (at the first
    schedule tick from then, plus the usual run length), one partition period late at most
    ``MAX_LATENESS``, plus grace. None while it does not exist yet."""
    owed = partitions.owed_since(newest_key, now)
    if owed is None:
        return None
    durations = [run.duration_s for run in history.successes() if run.duration_s is not None]
    scheduled = from_schedules(history.schedules, owed - timedelta(seconds=1), durations)
    due = scheduled.due_by if scheduled and scheduled.due_by else owed
    period = cron_period(partitions.cron, partitions.timezone, owed) or MAX_LATENESS
    deadline = due + min(period, MAX_LATENESS) + timedelta(minutes=params.grace_minutes)
    following = partitions.following_key(newest_key)
    return deadline, f"newest partition {newest_key}, {following} due by {iso(due)}"


def cadence_details(cadence: Cadence | None) -> dict[str, Any]:
    if cadence is None or cadence.interval is None:
        return {}
    return {
        "expected_every_hours": round(cadence.interval.total_seconds() / 3600, 2),
        "due_by": iso(cadence.due_by),
        "cadence_from": cadence.origin,
        **({"declared_by": cadence.declaration} if cadence.declaration else {}),
    }


def latest_success(history: SourceHistory) -> datetime | None:
    """The newer of the stored last success and any success or runless event in the window
    (they may lag)."""
    moments = [run.at for run in history.produced() if run.at is not None]
    if history.last_success_at is not None:
        moments.append(history.last_success_at)
    return max(moments, default=None)
