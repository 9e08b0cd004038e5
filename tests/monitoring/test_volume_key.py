"""monitoring.volume: the one choice of a source's volume key, and the keys a source reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from monitoring.volume import counts_rows, fold_metric_keys, validate_metric_name, volume_key

AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def test_the_operators_choice_wins_even_before_the_source_reports_it() -> None:
    assert volume_key("sku_count", ["dagster/row_count", "rows"]) == "sku_count"


def test_dagsters_row_count_comes_before_any_other_counting_key() -> None:
    assert volume_key("", ["rows", "dagster/row_count", "duplicates"]) == "dagster/row_count"


@pytest.mark.parametrize(
    "name", ["sku_count", "rows", "records", "num_records", "row_count", "Number of records"]
)
def test_the_single_key_that_counts_rows_is_the_volume(name: str) -> None:
    assert volume_key("", [name, "duplicates", "elapsed_s"]) == name


def test_names_are_matched_without_regard_to_case() -> None:
    assert counts_rows("ROWS") and counts_rows("Record_Count") and counts_rows("NUM_ROWS")


def test_no_counting_key_means_no_volume() -> None:
    assert volume_key("", ["duplicates", "elapsed_s", "bytes"]) is None
    assert volume_key("", []) is None


def test_of_several_counting_keys_a_preferred_name_is_taken_else_none() -> None:
    assert volume_key("", ["count", "duplicate_count"]) == "count"
    assert volume_key("", ["sku_count", "store_count"]) is None


def test_each_report_folds_into_last_value_and_how_often() -> None:
    keys = fold_metric_keys({}, {"rows": 10, "ok": True, "path": "/x"}, AT)
    keys = fold_metric_keys(keys, {"rows": 12, "Number of records": 3}, AT)
    assert keys == {
        "rows": {"last": 12.0, "reports": 2, "at": AT.isoformat()},
        "Number of records": {"last": 3.0, "reports": 1, "at": AT.isoformat()},
    }


def test_an_operators_key_may_hold_spaces_but_not_other_marks() -> None:
    validate_metric_name("Number of records")
    validate_metric_name("")
    for bad in ("rows!", " rows", "two  spaces", "x" * 101):
        with pytest.raises(ValidationError):
            validate_metric_name(bad)
