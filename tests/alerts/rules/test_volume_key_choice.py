"""The volume kinds with ``metric: auto``: each source judged by its own volume key, in one
partition series, without backfills of old partitions."""

from __future__ import annotations

from datetime import timedelta

from alerts.rules._volume import AUTO
from tests.alerts.rules.factories import NOW, days_ago, history, judge, success


def daily_values(metric: str, *values: float, **fields: object) -> tuple:
    return tuple(
        success(days_ago(len(values) - 1 - i), metrics={metric: value}, **fields)
        for i, value in enumerate(values)
    )


def test_auto_judges_the_key_the_source_reports() -> None:
    for metric in ("dagster/row_count", "sku_count", "rows", "num_records", "row_count"):
        finding = judge(
            "volume_drop", history(*daily_values(metric, 100, 100, 100, 100, 35)), metric=AUTO
        )
        assert finding is not None, metric
        assert f" {metric} 35 is 65% below" in finding.summary
        assert finding.details["metric"] == metric and finding.details["metric_choice"] == "auto"


def test_a_key_with_spaces_is_judged_automatically_and_when_named() -> None:
    runs = daily_values("Number of records", 100, 100, 100, 100, 35)
    assert judge("volume_drop", history(*runs), metric=AUTO) is not None
    assert judge("volume_drop", history(*runs), metric="Number of records") is not None
    assert judge("volume_bounds", history(*runs), metric="Number of records", min=50) is not None


def test_the_operators_key_is_judged_instead_of_the_standard_one() -> None:
    runs = tuple(
        success(days_ago(4 - i), metrics={"dagster/row_count": 100, "sku_count": sku})
        for i, sku in enumerate((100, 100, 100, 100, 35))
    )
    assert judge("volume_drop", history(*runs), metric=AUTO) is None
    finding = judge("volume_drop", history(*runs, volume_metric="sku_count"), metric=AUTO)
    assert finding is not None and "sku_count" in finding.summary


def test_a_source_without_a_volume_key_is_not_judged() -> None:
    runs = daily_values("duplicates", 100, 100, 100, 100, 0)
    assert judge("volume_drop", history(*runs), metric=AUTO) is None
    assert judge("volume_bounds", history(*runs), metric=AUTO, min=1) is None


def test_a_backfill_of_an_old_partition_is_neither_baseline_nor_drop() -> None:
    runs = [
        success(days_ago(5 - day), metrics={"rows": 1000}, partition=f"2026-12-0{day}")
        for day in range(1, 6)
    ]
    old = success(NOW + timedelta(minutes=5), metrics={"rows": 40}, partition="2026-11-02")
    backfill = success(
        NOW + timedelta(minutes=9), metrics={"rows": 30}, partition="2026-12-01", backfill_id="b1"
    )
    assert judge("volume_drop", history(*runs, old, backfill), metric="rows") is None
    today = success(NOW + timedelta(hours=1), metrics={"rows": 300}, partition="2026-12-06")
    finding = judge("volume_drop", history(*runs, old, backfill, today), metric="rows")
    assert finding is not None and finding.details["baseline"] == 1000


def test_a_retry_of_yesterdays_partition_is_still_judged() -> None:
    runs = [
        success(days_ago(5 - day), metrics={"rows": 1000}, partition=f"2026-12-0{day}")
        for day in range(1, 6)
    ]
    retry = success(NOW + timedelta(minutes=5), metrics={"rows": 200}, partition="2026-12-04")
    assert judge("volume_drop", history(*runs, retry), metric="rows") is not None


def test_monthly_and_daily_partitions_are_two_series() -> None:
    daily = [
        success(days_ago(6 - day), metrics={"rows": 100}, partition=f"2026-12-0{day}")
        for day in range(1, 6)
    ]
    monthly = success(days_ago(0.5), metrics={"rows": 3000}, partition="2026-11")
    assert (
        judge("volume_drop", history(*daily, monthly), metric="rows") is None
    )  # too few monthly runs
    today = success(NOW, metrics={"rows": 100}, partition="2026-12-06")
    assert (
        judge("volume_drop", history(*daily, monthly, today), metric="rows") is None
    )  # not 97 % below
