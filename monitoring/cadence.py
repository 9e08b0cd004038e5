"""A source's expected cadence: how often it succeeds and when its next success is due.

The one home of that answer (the stale rule judges by it, the source page and the sources API
show it). Taken from the first of: the freshness policy declared on the asset in Dagster, the
Dagster schedules that materialise it, the cron given for a pushed source, the interval learned
from its own successes. Pure: it takes data and returns a value, no database, no clock.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import islice, pairwise
from statistics import median
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from confops.common.formatting import span

# Dagster accepts these shorthands in cron_schedule; cronsim only knows the five fields.
CRON_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

# The name history.schedules_of gives the cron an operator set on a pushed source.
PUSHED_CRON = "expected"

# Learning needs a few gaps; with fewer, one odd manual run would set the cadence.
MIN_LEARNED_SUCCESSES = 4
# Weekday-only is believed only when the successes span two weekends without touching one.
WEEKDAY_EVIDENCE = timedelta(days=14)
SATURDAY = 5


class ScheduleLike(Protocol):
    """What cadence reads of a schedule (alerts' ScheduleSample has these attributes)."""

    @property
    def name(self) -> str: ...
    @property
    def cron(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def running(self) -> bool: ...


@dataclass(frozen=True)
class Cadence:
    """The expected rhythm of a source. ``interval`` None means unknown (nothing to go by).

    ``declared`` is true when the source's owner stated the limit itself (a Dagster freshness
    policy): ``due_by`` is then already the deadline, with no lateness to add.
    """

    interval: timedelta | None = None
    due_by: datetime | None = None
    origin: str = "unknown"
    declared: bool = False
    # The policy in words when declared ("Dagster freshness policy: time window, fail 1 d 2 h,
    # warn 1 d"): the stale alert says where its limit came from.
    declaration: str = ""

    @property
    def known(self) -> bool:
        return self.interval is not None and self.due_by is not None

    def describe(self) -> str:
        """ "expected every 2 h (schedule refresh (0 */2 * * *, UTC))"; "" when unknown."""
        return f"expected every {span(self.interval)} ({self.origin})" if self.known else ""


UNKNOWN = Cadence()


def cadence(
    *,
    reference: datetime,
    freshness_policy: Mapping[str, Any] | None = None,
    schedules: Sequence[ScheduleLike] = (),
    successes: Sequence[datetime] = (),
    durations_s: Sequence[float] = (),
) -> Cadence:
    """The cadence of one source whose last success (or first sighting) is ``reference``.

    ``successes`` are the moments of its recent successes (any order), ``durations_s`` the
    durations of its recent successful runs (a scheduled success lands a run's length after
    its tick).
    """
    return (
        from_policy(freshness_policy or {}, reference)
        or from_schedules(schedules, reference, durations_s)
        or learned(successes, reference)
        or UNKNOWN
    )


def from_policy(policy: Mapping[str, Any], reference: datetime) -> Cadence | None:
    """A Dagster freshness policy, in the shape discovery stores (monitoring/dagster/parse.py).

    Time window: a success at most ``failWindowSeconds`` old. Cron (and the legacy lag policy
    with a cron): by each deadline tick a success at most the lower bound (lag) old, so a
    success at ``reference`` covers the ticks up to ``reference + bound``; the next tick after
    that is the deadline. Legacy lag without cron: ``reference + lag``.
    """
    fail_window = seconds(policy.get("failWindowSeconds"))
    if fail_window:
        warn_window = seconds(policy.get("warnWindowSeconds"))
        interval = warn_window or fail_window
        origin = f"freshness policy ({span(fail_window)})"
        return Cadence(interval, reference + fail_window, origin, True, declaration(policy))
    cron = str(policy.get("deadlineCron") or policy.get("cronSchedule") or "")
    lag_minutes = seconds(policy.get("maximumLagMinutes"))
    bound = seconds(policy.get("lowerBoundDeltaSeconds")) or (
        lag_minutes * 60 if lag_minutes else None
    )
    zone_name = str(policy.get("timezone") or policy.get("cronScheduleTimezone") or "UTC")
    if cron:
        deadline = next_tick(cron, zone_name, reference + (bound or timedelta(0)))
        period = cron_period(cron, zone_name, reference)
        if deadline and period:
            origin = f"freshness policy ({cron}, {zone_name})"
            return Cadence(period, deadline, origin, True, declaration(policy))
    if bound:
        origin = f"freshness policy (lag {span(bound)})"
        return Cadence(bound, reference + bound, origin, True, declaration(policy))
    return None


def declaration(policy: Mapping[str, Any]) -> str:
    """Which Dagster policy set the limit, in words: its kind and its windows or bound."""
    if policy.get("failWindowSeconds"):
        warn = seconds(policy.get("warnWindowSeconds"))
        windows = f"fail {span(seconds(policy['failWindowSeconds']))}" + (
            f", warn {span(warn)}" if warn else ""
        )
        return f"Dagster freshness policy: time window, {windows}"
    bound = seconds(policy.get("lowerBoundDeltaSeconds"))
    if policy.get("deadlineCron"):
        zone_name = policy.get("timezone") or "UTC"
        lower = f", lower bound {span(bound)}" if bound else ""
        return f"Dagster freshness policy: cron {policy['deadlineCron']} ({zone_name}){lower}"
    lag = seconds(policy.get("maximumLagMinutes"))
    cron = policy.get("cronSchedule")
    on_cron = f", on cron {cron} ({policy.get('cronScheduleTimezone') or 'UTC'})" if cron else ""
    lag_text = span(lag * 60 if lag else None)
    return f"Dagster legacy freshness policy: maximum lag {lag_text}{on_cron}"


def from_schedules(
    schedules: Sequence[ScheduleLike], reference: datetime, durations_s: Sequence[float]
) -> Cadence | None:
    """The running schedules that materialise the source (Dagster's first, else a pushed
    source's cron): the first tick after ``reference`` plus the usual run length."""
    running = [s for s in schedules if s.running]
    dagster = [s for s in running if s.name != PUSHED_CRON]
    usual = timedelta(seconds=median(durations_s)) if durations_s else timedelta(0)
    options = []
    for schedule in dagster or running:
        tick = next_tick(schedule.cron, schedule.timezone, reference)
        period = cron_period(schedule.cron, schedule.timezone, reference)
        if tick and period:
            options.append((tick + usual, period, schedule))
    if not options:
        return None
    due, _, schedule = min(options, key=lambda option: option[0])
    interval = min(period for _, period, _ in options)
    label = "expected cron" if schedule.name == PUSHED_CRON else f"schedule {schedule.name}"
    return Cadence(interval, due, f"{label} ({schedule.cron}, {schedule.timezone or 'UTC'})")


def learned(successes: Sequence[datetime], reference: datetime) -> Cadence | None:
    """The median gap between successes (a missed run doubles one gap, not the median).

    A source that succeeded on weekdays only over at least two weeks is due on the next
    weekday: Friday's success is next due on Monday, not on Saturday. A weekly job's median
    gap is a week, so it is due a week later.
    """
    moments = sorted(set(successes))
    if len(moments) < MIN_LEARNED_SUCCESSES:
        return None
    interval = median_gap(moments)
    if interval <= timedelta(0):
        return None
    due = reference + interval
    origin = f"learned from {len(moments)} successes"
    if weekdays_only(moments) and interval < timedelta(days=2):
        while due.weekday() >= SATURDAY:
            due += timedelta(days=1)
        origin += ", weekdays only"
    return Cadence(interval, due, origin)


def weekdays_only(moments: Sequence[datetime]) -> bool:
    spans_two_weeks = moments[-1] - moments[0] >= WEEKDAY_EVIDENCE
    return spans_two_weeks and all(moment.weekday() < SATURDAY for moment in moments)


def seconds(value: object) -> timedelta | None:
    """A positive number of seconds (or minutes, the caller scales) as a duration."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return timedelta(seconds=float(value))


def zone(name: str) -> tzinfo:
    """Dagster runs schedules without a timezone in UTC; an unknown zone falls back likewise."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def ticks(cron: str, zone_name: str, after: datetime) -> Iterator[datetime]:
    """The cron's ticks after ``after``, read in local time of its zone (02:00 Europe/Paris is
    01:00 UTC in winter); a cron cronsim cannot read has none."""
    expression = CRON_ALIASES.get(cron.strip().lower(), cron)
    try:
        yield from CronSim(expression, after.astimezone(zone(zone_name)))
    except CronSimError:
        return


# The engine asks every source's crons at every evaluation (a replayed fleet month, a million
# times) for moments close together but different per source (each one's last success): each
# cron keeps spans of consecutive ticks, found forward (for ``next_tick``) and backward (for
# ``last_ticks``, as cronsim reads them in reverse), and answers from them by bisection.
SPAN_TICKS = 32  # ticks found on each side of the moment asked about, per span
SPANS_KEPT = 8  # spans kept per cron and direction; more spans than that replace the oldest


@dataclass(frozen=True)
class TickSpan:
    """Ticks of a cron, ascending: every one after ``low`` (forward) or at or after the lowest
    (backward), up to ``high``; it answers for moments from ``low`` to before ``high``."""

    low: datetime
    high: datetime
    ticks: tuple[datetime, ...]


_FORWARD: dict[tuple[str, str], list[TickSpan]] = {}
_BACKWARD: dict[tuple[str, str], list[TickSpan]] = {}


def _covering(spans: list[TickSpan], moment: datetime) -> TickSpan | None:
    return next((span for span in spans if span.low <= moment < span.high), None)


def _keep(
    store: dict[tuple[str, str], list[TickSpan]], key: tuple[str, str], span: TickSpan
) -> None:
    spans = store.setdefault(key, [])
    spans.append(span)
    if len(spans) > SPANS_KEPT:
        del spans[0]


def next_tick(cron: str, zone_name: str, after: datetime) -> datetime | None:
    """The first tick after ``after``."""
    key = (cron, zone_name)
    span = _covering(_FORWARD.get(key, []), after)
    if span is None:
        period = cron_period(cron, zone_name, after) or timedelta(days=1)
        low = after - period * SPAN_TICKS
        found = tuple(islice(ticks(cron, zone_name, low), 2 * SPAN_TICKS + 1))
        if not found or found[-1] <= after:  # a cron with few ticks: no span
            return next(ticks(cron, zone_name, after), None)
        span = TickSpan(low, found[-1], found)
        _keep(_FORWARD, key, span)
    return span.ticks[bisect_right(span.ticks, after)]


def last_ticks(cron: str, zone_name: str, until: datetime) -> tuple[datetime, ...]:
    """The last two ticks at or before ``until``, latest first (fewer for a cron with fewer)."""
    key = (cron, zone_name)
    moment = until.replace(microsecond=0)  # cron ticks fall on whole seconds
    span = _covering(_BACKWARD.get(key, []), moment)
    if span is None:
        period = cron_period(cron, zone_name, until) or timedelta(days=1)
        high = moment + period * SPAN_TICKS
        found = tuple(islice(ticks_back(cron, zone_name, high), 2 * SPAN_TICKS + 1))
        if len(found) < 2 or found[-2] > moment:  # a cron with few ticks: no span
            return tuple(islice(ticks_back(cron, zone_name, until), 2))
        # From the second lowest: every moment of the span has two ticks at or before it.
        span = TickSpan(found[-2], high + timedelta(seconds=1), found[::-1])
        _keep(_BACKWARD, key, span)
    index = bisect_right(span.ticks, moment)
    return (span.ticks[index - 1], span.ticks[index - 2])


def ticks_back(cron: str, zone_name: str, until: datetime) -> Iterator[datetime]:
    """The ticks at or before ``until``, latest first; cronsim in reverse yields ticks strictly
    before its start, so start one second later. Local time as in ``ticks``."""
    start = until.replace(microsecond=0) + timedelta(seconds=1)
    expression = CRON_ALIASES.get(cron.strip().lower(), cron)
    try:
        yield from CronSim(expression, start.astimezone(zone(zone_name)), reverse=True)
    except CronSimError:
        return


def cron_period(cron: str, zone_name: str, after: datetime) -> timedelta | None:
    """The typical gap between ticks: the median over the next week or so (a weekday cron is
    daily, its weekend gap aside). Read from the start of ``after``'s day, and remembered: the
    engine asks for every source at every evaluation (a replayed month asks 50,000 times)."""
    day = after.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return period_from(cron, zone_name, day)


@lru_cache(maxsize=4096)
def period_from(cron: str, zone_name: str, day: datetime) -> timedelta | None:
    upcoming = list(islice(ticks(cron, zone_name, day), 8))
    return median_gap(upcoming) if len(upcoming) > 1 else None


def median_gap(moments: Sequence[datetime]) -> timedelta:
    """The median gap between consecutive moments (sorted, at least two)."""
    return timedelta(
        seconds=median((later - earlier).total_seconds() for earlier, later in pairwise(moments))
    )


# --- Time-window partitions ------------------------------------------------------------------

# Dagster's partitions definition describes itself as "Daily, starting 2026-01-01 UTC." (with
# " End offsetted by 1 partition." when it has an end offset), or the cron for a custom one.
PARTITIONS_TEXT = re.compile(
    r"^(?P<every>.+?), starting (?P<start>\S+) (?P<zone>\S+)\."
    r"(?: End offsetted by (?P<offset>-?\d+) partitions?\.)?$"
)
# Dagster's default partition key formats (hourly, daily/weekly, monthly-like custom ones).
KEY_FORMATS = ("%Y-%m-%d-%H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m", "%Y%m%d")


@dataclass(frozen=True)
class TimePartitions:
    """A time-window partitions definition: a partition per window between cron ticks, keyed
    by its window's start in ``fmt``; with ``end_offset`` k, the k windows after the last
    complete one exist too (1: today's daily partition exists during today)."""

    cron: str
    timezone: str
    start: datetime
    fmt: str
    end_offset: int = 0

    def key_time(self, key: str) -> datetime | None:
        """The start of the window a partition key names (None for a key of another shape)."""
        try:
            return datetime.strptime(key, self.fmt).replace(tzinfo=zone(self.timezone))
        except ValueError:
            return None

    def available_at(self, window_start: datetime) -> datetime:
        """When the partition of the window starting at ``window_start`` exists: the end of its
        window, or its start with an end offset (judged from there for offsets above 1 too)."""
        if self.end_offset >= 1:
            return window_start
        later = list(islice(ticks(self.cron, self.timezone, window_start), 1 - self.end_offset))
        return later[-1] if later else window_start

    def following_key(self, key: str) -> str:
        """The key of the partition after ``key`` ("" for a key of another shape)."""
        start = self.key_time(key)
        following = next_tick(self.cron, self.timezone, start) if start else None
        return following.strftime(self.fmt) if following else ""

    def owed_since(self, newest_key: str, now: datetime) -> datetime | None:
        """Since when the partition after the newest materialised one has existed without
        being materialised (None while it does not exist yet, or for a key of another shape).
        A re-run of an older partition leaves the newest key, so it changes nothing here."""
        newest = self.key_time(newest_key)
        following = next_tick(self.cron, self.timezone, newest) if newest else None
        if following is None:
            return None
        available = self.available_at(following)
        return available if available <= now else None


def time_partitions(description: str) -> TimePartitions | None:
    """The time-window partitions a definition's description names; None for static, dynamic
    and multi-dimensional ones (they have no time to be late by)."""
    found = PARTITIONS_TEXT.match(description.strip())
    if not found:
        return None
    zone_name, raw_start = found["zone"], found["start"]
    for fmt in KEY_FORMATS:
        try:
            start = datetime.strptime(raw_start, fmt).replace(tzinfo=zone(zone_name))
        except ValueError:
            continue
        cron = partition_cron(found["every"], start)
        if cron and next_tick(cron, zone_name, start):
            return TimePartitions(cron, zone_name, start, fmt, int(found["offset"] or 0))
    return None


def partition_cron(every: str, start: datetime) -> str:
    """The cron of a named cadence, its offsets read from the (aligned) first window's start."""
    minute, hour = start.minute, start.hour
    return {
        "Hourly": f"{minute} * * * *",
        "Daily": f"{minute} {hour} * * *",
        "Weekly": f"{minute} {hour} * * {start.isoweekday() % 7}",
        "Monthly": f"{minute} {hour} {start.day} * *",
    }.get(every, every)
