"""monitoring.cadence: a source's expected rhythm from its policy, schedules or own successes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from monitoring import cadence as cadence_module
from monitoring.cadence import UNKNOWN, cadence, time_partitions

H = timedelta(hours=1)
D = timedelta(days=1)
# A Wednesday.
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    timezone: str = "UTC"
    running: bool = True


def test_a_time_window_policy_is_the_declared_deadline() -> None:
    policy = {
        "type": "TimeWindowFreshnessPolicy",
        "failWindowSeconds": 93600,
        "warnWindowSeconds": 86400,
    }
    found = cadence(reference=NOW, freshness_policy=policy, schedules=[Schedule("s", "0 * * * *")])
    assert (found.interval, found.due_by, found.declared) == (D, NOW + 26 * H, True)
    assert found.origin == "freshness policy (1 d 2 h)"


def test_a_cron_policy_is_due_at_the_first_deadline_the_success_does_not_cover() -> None:
    policy = {
        "type": "CronFreshnessPolicy",
        "deadlineCron": "0 9 * * *",
        "lowerBoundDeltaSeconds": 3600,
        "timezone": "UTC",
    }
    found = cadence(reference=NOW, freshness_policy=policy)
    assert (found.interval, found.due_by) == (D, datetime(2025, 1, 16, 9, tzinfo=UTC))
    assert found.origin == "freshness policy (0 9 * * *, UTC)"


def test_a_legacy_lag_policy_is_due_after_its_lag() -> None:
    found = cadence(reference=NOW, freshness_policy={"maximumLagMinutes": 90})
    assert (found.interval, found.due_by) == (
        90 * timedelta(minutes=1),
        NOW + 90 * timedelta(minutes=1),
    )
    assert found.declared


def test_a_legacy_lag_policy_with_cron_waits_for_the_tick_after_the_lag() -> None:
    policy = {"maximumLagMinutes": 60, "cronSchedule": "0 */6 * * *"}
    found = cadence(reference=NOW, freshness_policy=policy)
    assert (found.interval, found.due_by) == (6 * H, datetime(2025, 1, 15, 18, tzinfo=UTC))


def test_a_schedule_is_due_at_its_next_tick_plus_the_usual_run_length() -> None:
    paris = Schedule("daily_refresh", "0 6 * * *", "Europe/Paris")
    found = cadence(reference=NOW, schedules=[paris], durations_s=[600, 660, 540])
    assert found.interval == D
    assert found.due_by == datetime(2025, 1, 16, 5, 10, tzinfo=UTC)  # 06:00 Paris is 05:00 UTC
    assert found.origin == "schedule daily_refresh (0 6 * * *, Europe/Paris)"
    assert not found.declared


def test_a_weekday_schedule_is_daily_and_skips_the_weekend() -> None:
    friday_evening = datetime(2025, 1, 17, 20, tzinfo=UTC)
    found = cadence(reference=friday_evening, schedules=[Schedule("weekdays", "0 6 * * 1-5")])
    assert (found.interval, found.due_by) == (D, datetime(2025, 1, 20, 6, tzinfo=UTC))


def test_dagster_schedules_come_first_and_a_stopped_one_is_ignored() -> None:
    schedules = [
        Schedule("stopped", "*/5 * * * *", running=False),
        Schedule("expected", "0 * * * *"),
        Schedule("six_hourly", "0 */6 * * *"),
    ]
    assert (
        cadence(reference=NOW, schedules=schedules).origin
        == "schedule six_hourly (0 */6 * * *, UTC)"
    )
    pushed = cadence(reference=NOW, schedules=schedules[:2])
    assert (pushed.interval, pushed.origin) == (H, "expected cron (0 * * * *, UTC)")


def test_an_unreadable_cron_expects_nothing() -> None:
    assert cadence(reference=NOW, schedules=[Schedule("bad", "not a cron")]) is UNKNOWN


def test_a_learned_interval_is_the_median_gap_so_a_missed_run_does_not_move_it() -> None:
    moments = [NOW - n * 2 * H for n in (0, 1, 2, 4, 5, 6)]  # the run of NOW - 6 h is missing
    found = cadence(reference=NOW, successes=moments)
    assert (found.interval, found.due_by) == (2 * H, NOW + 2 * H)
    assert found.origin == "learned from 6 successes"


def test_too_few_successes_teach_nothing() -> None:
    assert cadence(reference=NOW, successes=[NOW, NOW - D, NOW - 2 * D]) is UNKNOWN
    assert not UNKNOWN.known and UNKNOWN.describe() == ""


def test_a_weekday_only_job_is_next_due_on_monday_after_a_friday_success() -> None:
    friday = datetime(2025, 1, 17, 6, 10, tzinfo=UTC)
    moments = [friday - n * D for n in range(21) if (friday - n * D).weekday() < 5]
    found = cadence(reference=friday, successes=moments)
    assert found.interval == D
    assert found.due_by == datetime(2025, 1, 20, 6, 10, tzinfo=UTC)
    assert found.origin == "learned from 15 successes, weekdays only"


def test_one_week_of_weekday_successes_is_not_yet_a_weekday_pattern() -> None:
    friday = datetime(2025, 1, 17, 6, 10, tzinfo=UTC)
    found = cadence(reference=friday, successes=[friday - n * D for n in range(5)])
    assert found.due_by == friday + D


def test_a_weekly_job_is_due_a_week_later() -> None:
    monday = datetime(2025, 1, 13, 3, tzinfo=UTC)
    found = cadence(reference=monday, successes=[monday - n * 7 * D for n in range(5)])
    assert (found.interval, found.due_by) == (7 * D, monday + 7 * D)
    assert found.describe() == "expected every 7 d (learned from 5 successes)"


def test_a_declared_policy_says_which_dagster_policy_it_is() -> None:
    window = {"failWindowSeconds": 93600, "warnWindowSeconds": 86400}
    cron = {"deadlineCron": "0 9 * * *", "lowerBoundDeltaSeconds": 3600, "timezone": "UTC"}
    legacy = {"maximumLagMinutes": 60, "cronSchedule": "0 */6 * * *"}
    assert cadence(reference=NOW, freshness_policy=window).declaration == (
        "Dagster freshness policy: time window, fail 1 d 2 h, warn 1 d"
    )
    assert cadence(reference=NOW, freshness_policy=cron).declaration == (
        "Dagster freshness policy: cron 0 9 * * * (UTC), lower bound 1 h"
    )
    assert cadence(reference=NOW, freshness_policy=legacy).declaration == (
        "Dagster legacy freshness policy: maximum lag 1 h, on cron 0 */6 * * * (UTC)"
    )
    assert cadence(reference=NOW, schedules=[Schedule("s", "0 * * * *")]).declaration == ""


def test_dagster_partition_descriptions_become_time_windows() -> None:
    daily = time_partitions("Daily, starting 2026-01-01 UTC.")
    assert daily is not None
    assert (daily.cron, daily.fmt, daily.timezone, daily.end_offset) == (
        "0 0 * * *",
        "%Y-%m-%d",
        "UTC",
        0,
    )
    hourly = time_partitions("Hourly, starting 2026-01-01-00:15 Europe/Paris.")
    assert hourly is not None and hourly.cron == "15 * * * *"
    weekly = time_partitions("Weekly, starting 2026-01-05 UTC. End offsetted by 1 partition.")
    assert weekly is not None and (weekly.cron, weekly.end_offset) == ("0 0 * * 1", 1)
    monthly = time_partitions("Monthly, starting 2026-01-01 UTC.")
    assert monthly is not None and monthly.cron == "0 0 1 * *"
    custom = time_partitions("0 6 * * *, starting 2026-01-01 UTC.")
    assert custom is not None and custom.cron == "0 6 * * *"
    assert time_partitions("'a', 'b', 'c'") is None
    assert time_partitions("") is None


def test_the_next_daily_partition_is_owed_from_the_end_of_its_day() -> None:
    daily = time_partitions("Daily, starting 2025-01-01 UTC.")
    assert daily is not None
    assert daily.following_key("2025-01-14") == "2025-01-15"
    # 2025-01-14 done: 2025-01-15 exists from 2025-01-16 00:00, not yet at NOW (the 15th).
    assert daily.owed_since("2025-01-14", NOW) is None
    assert daily.owed_since("2025-01-13", NOW) == datetime(2025, 1, 15, tzinfo=UTC)
    # With an end offset of 1 today's partition exists during today.
    today = time_partitions("Daily, starting 2025-01-01 UTC. End offsetted by 1 partition.")
    assert today is not None
    assert today.owed_since("2025-01-14", NOW) == datetime(2025, 1, 15, tzinfo=UTC)
    assert daily.owed_since("not-a-date", NOW) is None


@pytest.mark.parametrize("zone_name", ["UTC", "Europe/London", "America/New_York"])
def test_remembered_ticks_are_cronsims_for_moments_asked_in_any_order(zone_name: str) -> None:
    """``next_tick`` and ``last_ticks`` answer from spans of ticks they keep, for moments asked
    out of order and across daylight-saving changes: the ticks cronsim gives read forward from
    two weeks before, compared as instants (on a fall-back night cronsim started at 01:00 GMT
    names 01:30 BST, an hour before it, and in reverse from there skips it)."""
    crons = {"0 2 * * *": 15, "30 1 * * 0": 15, "0 9 * * 1-5": 15, "*/5 * * * *": 1, "@hourly": 1}
    rng = random.Random(19)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    moments = [base + timedelta(seconds=rng.randrange(0, 270 * 86400)) for _ in range(150)]
    for change in ("2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"):  # UK and US
        day = datetime.fromisoformat(change).replace(tzinfo=UTC)
        moments += [day + timedelta(minutes=m) for m in range(0, 9 * 60, 20)]
    rng.shuffle(moments)
    for moment in moments:
        for cron, days_before in crons.items():
            truth = []
            for tick in cadence_module.ticks(cron, zone_name, moment - timedelta(days=days_before)):
                truth.append(tick)
                if tick > moment:
                    break
            earlier = [tick for tick in truth if tick <= moment]
            assert cadence_module.next_tick(cron, zone_name, moment) == truth[-1], (cron, moment)
            assert cadence_module.last_ticks(cron, zone_name, moment) == tuple(earlier[::-1][:2])
