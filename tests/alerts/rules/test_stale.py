"""stale: no success for longer than max_age + grace."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.rules.base import RunSample, SourceHistory, kind
from tests.alerts.rules.factories import (
    KEY,
    NOW,
    failure,
    history,
    judge,
    param_errors,
    schedule,
    success,
)

H = timedelta(hours=1)
LIMIT = timedelta(hours=24, minutes=30)


def test_a_brand_new_source_without_runs_is_not_stale_at_once() -> None:
    assert judge("stale", history(first_seen_at=NOW - H)) is None


def test_a_source_that_never_succeeded_is_measured_from_first_seen() -> None:
    first_seen = NOW - 25 * H
    finding = judge("stale", history(failure(NOW - H), first_seen_at=first_seen))
    assert finding is not None
    assert finding.summary == (
        f"{KEY} has not succeeded in the 1 d 1 h since it was first seen (limit 24 h + 30 min)"
    )
    assert finding.since == first_seen + LIMIT


def test_one_recent_success_is_fresh() -> None:
    assert judge("stale", history(success(NOW - 23 * H))) is None


def test_an_old_success_is_stale_from_the_end_of_the_allowance() -> None:
    last = NOW - 26 * H
    finding = judge("stale", history(success(last)))
    assert finding is not None
    assert finding.summary == f"{KEY} last succeeded 1 d 2 h ago (limit 24 h + 30 min)"
    assert finding.since == last + LIMIT
    json.dumps(finding.details)


def test_failures_since_the_last_success_do_not_refresh_it() -> None:
    hist = history(success(NOW - 30 * H), *[failure(NOW - n * H) for n in (1, 5, 9)])
    assert judge("stale", hist) is not None


def test_a_success_older_than_the_window_still_counts() -> None:
    assert judge("stale", history(last_success_at=NOW - 2 * H)) is None


def test_exactly_at_the_limit_is_not_stale_and_one_second_later_is() -> None:
    hist = history(success(NOW - LIMIT))
    assert judge("stale", hist) is None
    assert judge("stale", hist, now=NOW + timedelta(seconds=1)) is not None


def test_grace_can_be_zero() -> None:
    assert judge("stale", history(success(NOW - 24 * H - timedelta(minutes=1))), grace_minutes=0)


def test_a_daily_0200_job_with_jittery_end_times_never_goes_stale() -> None:
    """Runs end 02:05, 02:12, 01:58... each day; checked every 10 minutes for a week."""
    offsets = [5, 12, -2, 9, -5, 14, 0, 11]  # minutes after 02:00 on consecutive days
    start = datetime(2025, 1, 6, tzinfo=UTC)
    ends = [start + timedelta(days=d, hours=2, minutes=m) for d, m in enumerate(offsets)]
    now = ends[0]
    while now < ends[-1]:
        done = [success(end) for end in ends if end <= now]
        assert judge("stale", history(*done, first_seen_at=start), now=now) is None, now
        now += timedelta(minutes=10)


def test_the_thresholds_may_be_overridden_per_source() -> None:
    assert kind("stale").overridable == ("max_age_hours", "grace_minutes")
    assert kind("stale").time_based
    assert judge("stale", history(success(NOW - 30 * H)), max_age_hours=48) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"max_age_hours": -1}, {"max_age_hours": "must be greater than 0"}),
        ({"max_age_hours": 0}, {"max_age_hours": "must be greater than 0"}),
        ({"grace_minutes": -5}, {"grace_minutes": "must be at least 0"}),
        ({"max_age": 3}, {"max_age": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("stale", **raw) == expected


# --- judged by cadence (max_age_hours unset) ----------------------------------------------------


def every_two_hours(last: datetime, count: int = 12) -> list[RunSample]:
    return [success(last - n * 2 * H) for n in range(count)]


def test_a_two_hourly_source_is_stale_four_and_a_half_hours_after_its_last_success() -> None:
    last = NOW - 5 * H
    hist = history(*every_two_hours(last))
    assert judge("stale", hist, now=last + timedelta(hours=4, minutes=30)) is None
    finding = judge("stale", hist, now=NOW)
    assert finding is not None
    assert finding.since == last + timedelta(hours=4, minutes=30)
    assert finding.summary == (
        f"{KEY} last succeeded 5 h ago "
        "(expected every 2 h (learned from 12 successes), limit 4 h 30 min)"
    )
    assert finding.details["cadence_from"] == "learned from 12 successes"
    assert finding.details["expected_every_hours"] == 2


def test_a_two_hourly_source_missing_one_run_is_not_stale_yet() -> None:
    assert judge("stale", history(*every_two_hours(NOW - 3 * H)), now=NOW) is None


def test_a_daily_schedule_is_stale_26_and_a_half_hours_after_the_tick_it_missed() -> None:
    last = datetime(2025, 1, 14, 6, 10, tzinfo=UTC)
    hist = history(success(last), schedules=(schedule("0 6 * * *"),))
    assert judge("stale", hist, now=last + timedelta(hours=26, minutes=29)) is None
    finding = judge("stale", hist, now=last + 27 * H)
    assert finding is not None
    # Due at the next tick (06:00) plus the usual 10-minute run, then 2 h late, then grace.
    assert finding.since == datetime(2025, 1, 15, 8, 40, tzinfo=UTC)


def test_a_weekday_only_job_is_not_stale_at_the_weekend() -> None:
    friday = datetime(2025, 1, 17, 6, 10, tzinfo=UTC)
    days = [friday - n * timedelta(days=1) for n in range(21)]
    hist = history(*[success(day) for day in days if day.weekday() < 5])
    monday_morning = datetime(2025, 1, 20, 8, 40, tzinfo=UTC)
    assert judge("stale", hist, now=monday_morning) is None
    assert judge("stale", hist, now=monday_morning + timedelta(minutes=1)) is not None


def test_a_weekly_job_is_not_stale_before_its_next_week_is_missed() -> None:
    last = NOW - 6 * timedelta(days=1)
    hist = history(*[success(last - n * timedelta(days=7)) for n in range(5)])
    assert judge("stale", hist) is None
    assert judge("stale", hist, now=last + timedelta(days=7, hours=2, minutes=31)) is not None


def test_a_declared_freshness_policy_is_the_deadline_plus_grace() -> None:
    policy = {"type": "TimeWindowFreshnessPolicy", "failWindowSeconds": 26 * 3600}
    hist = history(*every_two_hours(NOW - 27 * H), freshness_policy=policy)
    finding = judge("stale", hist)
    assert finding is not None
    assert finding.since == NOW - 27 * H + timedelta(hours=26, minutes=30)


def test_the_alert_says_its_limit_came_from_the_dagster_policy() -> None:
    policy = {"failWindowSeconds": 26 * 3600, "warnWindowSeconds": 24 * 3600}
    finding = judge("stale", history(success(NOW - 27 * H), freshness_policy=policy))
    assert finding is not None
    assert finding.summary == (
        f"{KEY} last succeeded 1 d 3 h ago (limit 1 d 2 h from Dagster freshness policy: "
        "time window, fail 1 d 2 h, warn 1 d)"
    )
    assert finding.details["declared_by"].startswith("Dagster freshness policy")


def test_a_fixed_max_age_wins_over_the_cadence() -> None:
    hist = history(*every_two_hours(NOW - 6 * H))
    assert judge("stale", hist) is not None
    assert judge("stale", hist, max_age_hours=8) is None


def test_the_fallback_is_24_hours_when_nothing_tells_the_cadence() -> None:
    assert kind("stale").parse_params({}).max_age_hours is None
    assert judge("stale", history(success(NOW - 24 * H))) is None
    assert judge("stale", history(success(NOW - 25 * H))) is not None
    assert kind("stale").freshness_limit(kind("stale").parse_params({})) == LIMIT
    assert kind("stale").loosened({}) == ("max_age_hours", 24.0, 36.0)


DAILY_PARTITIONS = "Daily, starting 2024-12-01 UTC."


def nightly(day: int, partition_day: int | None = None, hour: int = 0) -> RunSample:
    """A success at 00:10 (+hour) on 2025-01-``day`` of the previous day's partition."""
    key = f"2025-01-{(partition_day or day - 1):02d}"
    return success(datetime(2025, 1, day, hour, 10, tzinfo=UTC), partition=key)


def partitioned(*runs: RunSample, **fields: object) -> SourceHistory:
    return history(
        *runs,
        partitions_definition=DAILY_PARTITIONS,
        schedules=(schedule("0 0 * * *"),),
        **fields,
    )


def test_a_partitioned_asset_is_fresh_while_its_newest_partition_is_not_yet_owed() -> None:
    # 2025-01-14 materialised on the 15th at 00:10; 2025-01-15 exists from the 16th.
    assert judge("stale", partitioned(*[nightly(d) for d in range(8, 16)])) is None


def test_a_partitioned_asset_is_stale_when_yesterdays_partition_is_late() -> None:
    hist = partitioned(*[nightly(d) for d in range(8, 15)])  # newest 2025-01-13
    finding = judge("stale", hist, now=datetime(2025, 1, 15, 2, 41, tzinfo=UTC))
    assert finding is not None
    assert "newest partition 2025-01-13, 2025-01-14 due by 2025-01-15T00:10" in finding.summary
    assert judge("stale", hist, now=datetime(2025, 1, 15, 2, 30, tzinfo=UTC)) is None


def test_a_rerun_of_an_old_partition_does_not_make_a_stale_asset_fresh() -> None:
    runs = [nightly(d) for d in range(8, 14)]  # newest 2025-01-12, due 01-14 00:10
    late = datetime(2025, 1, 15, 11, tzinfo=UTC)
    rerun = success(late, partition="2025-01-05")
    assert judge("stale", partitioned(*runs, rerun)) is not None
    # Unpartitioned, the same re-run would have counted as a fresh success.
    assert judge("stale", history(*runs, rerun, schedules=(schedule("0 0 * * *"),))) is None


def test_a_partitioned_asset_is_stale_when_the_partitions_it_should_have_are_missing() -> None:
    # Only an old partition was ever materialised (just now): by its partitions definition the
    # asset owes every day since, whatever its fresh-looking last success says.
    hist = history(success(NOW - H, partition="2025-01-05"), partitions_definition=DAILY_PARTITIONS)
    finding = judge("stale", hist)
    assert finding is not None
    assert finding.since == datetime(2025, 1, 7, 2, 30, tzinfo=UTC)
    assert "newest partition 2025-01-05, 2025-01-06 due by 2025-01-07T00:00" in finding.summary


def test_an_unpartitioned_definition_or_static_partitions_keep_the_run_based_judgement() -> None:
    runs = [success(NOW - H, partition="eu")]
    assert judge("stale", history(*runs, partitions_definition="'eu', 'us'")) is None
