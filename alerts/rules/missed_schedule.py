"""A run the source's schedule expected did not start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from alerts.rules._common import MAX_MINUTES, iso, limits
from alerts.rules.base import Finding, Params, RuleKind, ScheduleSample, SourceHistory, register
from confops.common.formatting import number, span
from monitoring.cadence import last_ticks
from monitoring.cadence import next_tick as cadence_next_tick

# A run that starts a little before its tick still counts: the clocks of Dagster, the machine
# a pushed job runs on and confops are not exactly in step (at most half the schedule's period).
EARLY = timedelta(minutes=5)

# A run is given half its schedule's period to start (a 2-minute schedule waits 1 minute, not
# 30), never less than this: the clocks are not exactly in step (see EARLY).
MIN_GRACE = timedelta(minutes=1)
# Ticks ``grace_ends`` steps through looking for the next moment to judge (a 1-minute schedule
# with a 30-minute grace steps through 30).
GRACE_LOOKAHEAD = 100


class MissedScheduleParams(Params):
    # The longest a run may be late: half the schedule's period applies when it is shorter.
    grace_minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] = Field(
        30, description="How late a scheduled run may start before it counts as missed."
    )


@dataclass(frozen=True)
class Expected:
    """One expected start: when, which schedule said so, and how late it may start."""

    at: datetime
    schedule: ScheduleSample
    grace: timedelta = timedelta(0)
    early: timedelta = EARLY


@register
class MissedSchedule(RuleKind):
    """Fires when the latest expected run (due + grace) did not start; clears at the next one.

    The grace follows the schedule: half its period (the gap between its last two ticks), at
    least ``MIN_GRACE``, at most ``grace_minutes``. Only the latest expected time is judged: once
    a later expected run starts on time, an earlier miss is history, not a condition that still
    holds.
    """

    name = "missed_schedule"
    consequence = True
    label = "Missed schedule"
    params = MissedScheduleParams
    overridable = ("grace_minutes",)
    time_based = True

    def threshold(self, params: MissedScheduleParams) -> str:
        """The grace after the tick."""
        return f"later than {span(params.grace_minutes * 60)}"

    def next_check(
        self, history: SourceHistory, params: MissedScheduleParams, now: datetime
    ) -> datetime | None:
        """When the next tick's grace runs out (the latest expected run changes then); None
        without a running schedule."""
        cap = timedelta(minutes=params.grace_minutes)
        ends = [
            grace_ends(schedule, now, cap) for schedule in history.schedules if schedule.running
        ]
        return min((end for end in ends if end), default=None)

    def evaluate_source(
        self, history: SourceHistory, params: MissedScheduleParams, now: datetime
    ) -> Finding | None:
        cap = timedelta(minutes=params.grace_minutes)
        expected = latest_expected(history.schedules, now, cap)
        if expected is None or expected.at < history.first_seen_at:
            return None
        # A run that started late still answers the missed tick: the alert clears when it starts.
        if started_between(history, expected.at - expected.early, now):
            return None
        schedule, zone_name = expected.schedule, str(expected.at.tzinfo)
        grace_minutes = expected.grace.total_seconds() / 60
        return Finding(
            summary=f"{history.key}: expected run at {expected.at:%Y-%m-%d %H:%M} {zone_name} "
            f"(cron {schedule.cron}) did not start within {number(grace_minutes)} min",
            since=expected.at + expected.grace,
            details={
                "expected_at": iso(expected.at),
                "schedule": schedule.name,
                "cron": schedule.cron,
                "timezone": zone_name,
                "grace_minutes": grace_minutes,
            },
        )


def started_between(history: SourceHistory, start: datetime, end: datetime) -> bool:
    return any(run.started_at and start <= run.started_at <= end for run in history.runs)


def latest_expected(
    schedules: tuple[ScheduleSample, ...], now: datetime, cap: timedelta
) -> Expected | None:
    """The latest tick whose grace has run out by ``now``, across the running schedules."""
    ticks = [last_due_tick(schedule, now, cap) for schedule in schedules if schedule.running]
    return max((tick for tick in ticks if tick), key=lambda tick: tick.at, default=None)


def last_due_tick(schedule: ScheduleSample, now: datetime, cap: timedelta) -> Expected | None:
    """The schedule's latest tick at or before ``now`` minus its grace.

    Grace and earliness fit the period: half of it, the grace within [MIN_GRACE, cap] and the
    earliness at most EARLY, so that a run answering one tick of a 2-minute schedule does not
    also answer the next. A weekday job on Monday morning has a three-day gap, hence the cap.
    """
    half = half_period(schedule, now)
    grace = cap if half is None else min(cap, max(MIN_GRACE, half))
    early = EARLY if half is None else min(EARLY, half)
    due = last_ticks(schedule.cron, schedule.timezone, now - grace)
    return Expected(due[0], schedule, grace, early) if due else None


def grace_ends(schedule: ScheduleSample, now: datetime, cap: timedelta) -> datetime | None:
    """The first moment after ``now`` when ``last_due_tick`` can answer a later tick: the end of
    the grace of the first tick whose grace has not run out (``now`` when that takes more than
    ``GRACE_LOOKAHEAD`` ticks: judged every pass), or the next tick if that comes first: the
    grace is measured from each tick's period, so a tick is a moment to look again too."""
    tick = cadence_next_tick(schedule.cron, schedule.timezone, now - cap - MIN_GRACE)
    for _ in range(GRACE_LOOKAHEAD):
        if tick is None:
            return None
        if tick > now:  # the grace is measured anew from each tick
            return tick
        half = half_period(schedule, tick)
        grace = cap if half is None else min(cap, max(MIN_GRACE, half))
        following = cadence_next_tick(schedule.cron, schedule.timezone, tick)
        ends = tick + grace if following is None else min(tick + grace, following)
        if ends > now:
            return ends
        tick = following
    return now


def half_period(schedule: ScheduleSample, now: datetime) -> timedelta | None:
    """Half the gap between the schedule's last two ticks at or before ``now``."""
    last_two = last_ticks(schedule.cron, schedule.timezone, now)
    return (last_two[0] - last_two[1]) / 2 if len(last_two) == 2 else None


def next_expected(schedules: tuple[ScheduleSample, ...], after: datetime) -> Expected | None:
    """The earliest tick after ``after`` across the running schedules (the status page says
    when a source that never ran should first run)."""
    ticks = [next_tick(schedule, after) for schedule in schedules if schedule.running]
    return min((tick for tick in ticks if tick), key=lambda tick: tick.at, default=None)


def next_tick(schedule: ScheduleSample, after: datetime) -> Expected | None:
    """The first tick after ``after``, the cron read in the schedule's zone."""
    tick = cadence_next_tick(schedule.cron, schedule.timezone, after)
    return Expected(tick, schedule) if tick else None
