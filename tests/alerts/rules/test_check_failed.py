"""check_failed: asset checks whose latest evaluation failed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.choices import Severity
from tests.alerts.rules.factories import KEY, NOW, check, history, judge, param_errors

H = timedelta(hours=1)


def test_no_checks_is_no_finding() -> None:
    assert judge("check_failed", history()) is None


def test_a_passing_check_is_no_finding() -> None:
    assert judge("check_failed", history(checks=(check("no_duplicates", passed=True),))) is None


def test_a_failed_error_check_fires_with_its_description() -> None:
    failed = check("no_duplicates", description="12 duplicates\nrows: 1, 2", run_id="r1")
    finding = judge("check_failed", history(checks=(failed,)))
    assert finding is not None
    assert finding.summary == f"{KEY}: check no_duplicates failed (ERROR): 12 duplicates"
    assert finding.run_id == "r1" and finding.since == failed.evaluated_at
    assert finding.severity is None  # the rule's own severity applies
    json.dumps(finding.details)


def test_a_warn_check_fires_only_when_warn_is_selected() -> None:
    warn = check("no_duplicates", severity="WARN", description="12 duplicates")
    hist = history(checks=(warn,), key="store_conferences")
    assert judge("check_failed", hist) is None
    finding = judge("check_failed", hist, severity="WARN")
    assert finding is not None
    assert finding.summary == "store_conferences: check no_duplicates failed (WARN): 12 duplicates"


def test_any_takes_the_checks_own_severity() -> None:
    warn = check("fresh", severity="WARN")
    finding = judge("check_failed", history(checks=(warn,)), severity="any")
    assert finding is not None and finding.severity == Severity.WARNING
    both = (warn, check("no_duplicates", severity="ERROR"))
    finding = judge("check_failed", history(checks=both), severity="any")
    assert finding is not None and finding.severity == Severity.CRITICAL


def test_it_clears_when_the_latest_evaluation_passes() -> None:
    checks = (
        check("no_duplicates", passed=True, at=NOW - H),
        check("no_duplicates", at=NOW - 2 * H),
    )
    assert judge("check_failed", history(checks=checks)) is None


def test_all_failures_are_dated_from_the_first_of_the_streak() -> None:
    checks = (
        check("no_duplicates", at=NOW - H),
        check("no_duplicates", at=NOW - 2 * H),
        check("no_duplicates", at=NOW - 3 * H),
        check("no_duplicates", passed=True, at=NOW - 4 * H),
        check("no_duplicates", at=NOW - 5 * H),
    )
    finding = judge("check_failed", history(checks=checks))
    assert finding is not None and finding.since == NOW - 3 * H


def test_several_failing_checks_are_listed() -> None:
    checks = (check("no_duplicates"), check("fresh"), check("not_null", passed=True))
    finding = judge("check_failed", history(checks=checks))
    assert finding is not None
    assert finding.summary == f"{KEY}: 2 checks failed: no_duplicates (ERROR), fresh (ERROR)"
    assert [c["name"] for c in finding.details["checks"]] == ["no_duplicates", "fresh"]


def test_check_name_selects_checks_by_glob() -> None:
    checks = (check("no_duplicates"), check("fresh"))
    finding = judge("check_failed", history(checks=checks), check_name="no_*")
    assert finding is not None and "fresh" not in finding.summary
    assert judge("check_failed", history(checks=checks), check_name="row_*") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"severity": "INFO"}, {"severity": "Input should be 'ERROR', 'WARN' or 'any'"}),
        ({"check": "x"}, {"check": "is not a parameter of this rule kind"}),
    ],
)
def test_parameters_are_checked(raw: dict, expected: dict) -> None:
    assert param_errors("check_failed", **raw) == expected


def test_a_failed_blocking_check_says_it_blocked_downstream() -> None:
    failed = check("acme_products_have_skus", description="no SKUs", blocking=True)
    finding = judge("check_failed", history(checks=(failed,), key="retail/acme/products"))
    assert finding is not None
    assert finding.summary == (
        "retail/acme/products: check acme_products_have_skus failed "
        "(ERROR, blocking downstream): no SKUs"
    )
    assert finding.details["checks"][0]["blocking"] is True


def test_several_failed_checks_say_which_one_blocked() -> None:
    checks = (check("skus", blocking=True), check("prices_positive"))
    finding = judge("check_failed", history(checks=checks))
    assert finding is not None
    assert finding.summary.endswith(
        "2 checks failed: skus (ERROR, blocking downstream), prices_positive (ERROR)"
    )
