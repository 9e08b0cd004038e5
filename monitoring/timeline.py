"""The run timeline of the status page: where each run's bar goes. Pure functions of runs, a
window and ``now``; positions are percentages of the window so the track can be any width."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from confops.common.formatting import span
from monitoring.choices import (
    SUCCESS_OUTCOMES,
    TERMINAL_RUN_STATUSES,
    RunAssetOutcome,
    RunStatus,
    TimelineWindow,
)

WINDOW_LENGTH = {
    TimelineWindow.HOUR: timedelta(hours=1),
    TimelineWindow.SIX_HOURS: timedelta(hours=6),
    TimelineWindow.DAY: timedelta(hours=24),
    TimelineWindow.WEEK: timedelta(days=7),
}
# The axis's marks per window length (up to the length): a handful of labels at any zoom.
TICK_STEPS = (
    (timedelta(hours=1), timedelta(minutes=10)),
    (timedelta(hours=6), timedelta(hours=1)),
    (timedelta(hours=24), timedelta(hours=3)),
)

# Hourly jobs over seven days are 168 bars; a source running more often than that shows its
# latest runs only (and says so), which keeps the page's size bounded per source.
RUNS_PER_SOURCE = 200

ERROR_EXCERPT = 300
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # strftime would follow the locale

STATE_LABEL = {
    "ok": "Succeeded",
    "failed": "Failed",
    "retrying": "Failed, Dagster retries",
    "running": "Running",
    "skipped": "Skipped (upstream failed)",
    "canceled": "Canceled",
}


@dataclass(frozen=True)
class TimeWindow:
    kind: TimelineWindow
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, kind: TimelineWindow, now: datetime) -> TimeWindow:
        return cls(kind, now - WINDOW_LENGTH[kind], now)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def percent(self, moment: datetime) -> float:
        share = (moment - self.start).total_seconds() * 100 / self.seconds
        return 0.0 if share < 0 else 100.0 if share > 100 else share


@dataclass(slots=True)
class TimelineRun:
    """What the timeline needs of one run of one source; times in seconds since 1970."""

    key: str  # unique on the page, so focus survives a refresh
    status: str
    outcome: str
    started: float | None  # or, before it started, when it was created
    ended: float | None
    duration_s: float | None
    will_retry: bool
    error: str
    url: str
    partition: str = ""  # Dagster's partition key; the label names it


@dataclass(slots=True)
class Bar:
    key: str
    left: str  # CSS percentages, rounded: a page of thousands of bars stays small
    width: str
    state: str
    label: str
    error: str
    url: str
    late: bool = False  # in the right part of the track: its tooltip opens to the left

    @property
    def is_failure(self) -> bool:
        return self.state in ("failed", "retrying")


@dataclass(frozen=True)
class Tick:
    left: str
    label: str


def bar_state(run: TimelineRun) -> str:
    """What the run did to this source: a failed run can still have materialised it."""
    if run.status not in TERMINAL_RUN_STATUSES:
        return "running"
    if run.status == RunStatus.CANCELED:
        return "canceled"
    if run.outcome == RunAssetOutcome.SKIPPED:
        return "skipped"
    if run.outcome == RunAssetOutcome.FAILED or (
        run.status == RunStatus.FAILURE and run.outcome not in SUCCESS_OUTCOMES
    ):
        return "retrying" if run.will_retry else "failed"
    return "ok"


class Placer:
    """Places runs in one window. The page places thousands of runs, so the window's numbers
    are worked out once here rather than per run."""

    def __init__(self, window: TimeWindow, tz: tzinfo) -> None:
        self.start, self.end = window.start.timestamp(), window.end.timestamp()
        self.scale = 100 / (self.end - self.start)
        self.tz, self.week = tz, window.seconds > 86400

    def clock(self, timestamp: float) -> str:
        moment = datetime.fromtimestamp(timestamp, self.tz)
        if self.week:
            return f"{DAY_NAMES[moment.weekday()]} {moment.day:02d} {moment:%H:%M}"
        return f"{moment:%H:%M}"

    def place(self, run: TimelineRun) -> Bar | None:
        """The bar of one run, or None when it lies wholly outside the window."""
        begins = run.started if run.started is not None else run.ended
        if begins is None:
            return None
        if run.ended is not None:
            ends = run.ended
        elif run.status not in TERMINAL_RUN_STATUSES:
            ends = self.end  # still running: up to now
        else:
            ends = begins + (run.duration_s or 0)
        if ends < self.start or begins > self.end:
            return None
        left = min(max((begins - self.start) * self.scale, 0.0), 100.0)
        right = min(max((ends - self.start) * self.scale, 0.0), 100.0)
        state = bar_state(run)
        duration = run.duration_s if run.duration_s is not None else ends - begins
        which = f"partition {run.partition}, " if run.partition else ""
        label = f"{STATE_LABEL[state]}: {which}started {self.clock(begins)}, {span(duration)}"
        error = excerpt(run.error) if state in ("failed", "retrying") else ""
        return Bar(
            key=run.key,
            left=f"{left:.3f}%",
            width=f"{right - left:.3f}%",
            state=state,
            label=f"{label}. {error}" if error else label,
            error=error,
            url=run.url,
            late=left > 60,
        )


def place(run: TimelineRun, window: TimeWindow, tz: tzinfo) -> Bar | None:
    return Placer(window, tz).place(run)


def excerpt(error: str) -> str:
    first = error.strip()
    return first if len(first) <= ERROR_EXCERPT else first[: ERROR_EXCERPT - 1] + "…"


def bars(runs: list[TimelineRun], window: TimeWindow, tz: tzinfo) -> list[Bar]:
    """Bars oldest first, so a later (overlapping) run is drawn on top; failures after every
    other bar, so no success or retry ever covers the failure an on-call person looks for."""
    return place_all(runs, Placer(window, tz))


def place_all(runs: list[TimelineRun], placer: Placer) -> list[Bar]:
    placed = [bar for bar in (placer.place(run) for run in reversed(runs)) if bar is not None]
    return sorted(placed, key=lambda bar: bar.state == "failed")  # stable: oldest first kept


def ticks(window: TimeWindow, tz: tzinfo) -> list[Tick]:
    """Marks every ten minutes for an hour, hourly for six hours, every three hours for a day
    and at midnights for a week, in the page's time zone."""
    local_start = window.start.astimezone(tz)
    length = window.end - window.start
    step = next((every for upto, every in TICK_STEPS if length <= upto), None)
    if step is not None:
        first = local_start.replace(second=0, microsecond=0)
        if step < timedelta(hours=1):  # on the ten minutes: :00, :10, :20 …
            first -= timedelta(minutes=first.minute % (step.seconds // 60))
        else:  # on the hour, a multiple of the step: 00:00, 03:00 …
            first = first.replace(minute=0)
            first += timedelta(hours=(-first.hour) % (step.seconds // 3600))
        fmt = "%H:%M"
    else:
        step = timedelta(days=1)
        first = local_start.replace(hour=0, minute=0, second=0, microsecond=0) + step
        fmt = "%a %d"
    if first < local_start:
        first += step
    marks, moment = [], first
    while moment <= window.end:
        marks.append(Tick(f"{window.percent(moment):.3f}%", moment.strftime(fmt)))
        moment += step  # wall-clock arithmetic: midnights stay midnights across DST
    return marks
