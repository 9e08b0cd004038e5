"""run_failed: the latest verdict on the source is a final failure."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.alerts.rules.factories import (
    KEY,
    NOW,
    failure,
    history,
    judge,
    param_errors,
    run,
    success,
)

H = timedelta(hours=1)


def test_no_history_is_no_finding() -> None:
    assert judge("run_failed", history()) is None


def test_one_successful_run_is_no_finding() -> None:
    assert judge("run_failed", history(success(NOW - H))) is None


def test_it_fires_on_a_final_failure_with_the_error_and_run() -> None:
    failed = failure(NOW - H, error="HTTP 503 Service Unavailable\nTraceback (most recent call)")
    finding = judge("run_failed", history(success(NOW - 25 * H), failed))
    assert finding is not None
    assert finding.summary == f"{KEY} failed: HTTP 503 Service Unavailable"
    assert finding.since == NOW - H
    assert finding.run_id == failed.run_id
    assert finding.details["error"].startswith("HTTP 503")
    json.dumps(finding.details)


def test_it_names_the_failed_step() -> None:
    finding = judge("run_failed", history(failure(NOW - H, failed_step="fetch_pages")))
    assert finding is not None
    assert finding.summary == f"{KEY} failed in step fetch_pages: HTTP 503"


def test_a_failure_without_a_message_says_so() -> None:
    finding = judge("run_failed", history(failure(NOW - H, error="")))
    assert finding is not None and finding.summary.endswith("failed: no error message")


def test_with_only_failures_it_reports_the_newest() -> None:
    runs = [failure(NOW - n * H, error=f"error {n}") for n in (1, 2, 3)]
    finding = judge("run_failed", history(*runs))
    assert finding is not None
    assert finding.run_id == runs[0].run_id and "error 1" in finding.summary


def test_it_clears_once_a_newer_run_succeeded() -> None:
    assert judge("run_failed", history(failure(NOW - 2 * H), success(NOW - H))) is None


def test_a_failure_dagster_will_retry_is_not_yet_a_failure() -> None:
    retried = failure(NOW - H, will_retry=True)
    assert judge("run_failed", history(success(NOW - 2 * H), retried)) is None


def test_a_retry_in_flight_does_not_clear_an_earlier_final_failure() -> None:
    final = failure(NOW - 2 * H)
    finding = judge("run_failed", history(final, failure(NOW - H, will_retry=True)))
    assert finding is not None and finding.run_id == final.run_id


def test_canceled_runs_neither_fire_nor_clear() -> None:
    assert judge("run_failed", history(run(NOW - H, status="CANCELED"))) is None
    final = failure(NOW - 2 * H)
    finding = judge("run_failed", history(final, run(NOW - H, status="CANCELED")))
    assert finding is not None and finding.run_id == final.run_id


def test_a_run_skipped_because_an_upstream_failed_is_not_this_sources_failure() -> None:
    skipped = run(NOW - H, status="FAILURE", outcome="skipped")
    assert judge("run_failed", history(success(NOW - 2 * H), skipped)) is None


def test_a_run_in_progress_changes_nothing() -> None:
    open_run = run(None, status="STARTED", outcome="planned", started_at=NOW - H)
    assert judge("run_failed", history(failure(NOW - 2 * H), open_run)) is not None


def test_it_takes_no_parameters() -> None:
    assert param_errors("run_failed", percent=10) == {
        "percent": "is not a parameter of this rule kind"
    }
