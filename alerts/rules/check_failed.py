"""Dagster asset checks whose latest evaluation failed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from alerts.choices import Severity
from alerts.rules._common import first_line, iso, matches
from alerts.rules.base import CheckSample, Finding, Params, RuleKind, SourceHistory, register


class CheckFailedParams(Params):
    severity: Literal["ERROR", "WARN", "any"] = Field(
        "ERROR",
        description="Which failing checks count: ERROR or WARN checks only, or any (the alert then "
        "takes the check's own severity).",
    )
    check_name: str | None = Field(
        None,
        description='Only checks whose name matches this glob (e.g. "no_*"); empty for all.',
    )


@register
class CheckFailed(RuleKind):
    """Fires while the latest evaluation of a matching check failed; clears when they pass.

    With ``severity: any`` the alert takes the checks' own severity (an ERROR check makes it
    critical, WARN a warning); with a fixed severity the rule's own severity applies.
    """

    name = "check_failed"
    consequence = True
    label = "Asset check failed"
    params = CheckFailedParams

    def evaluate_source(
        self, history: SourceHistory, params: CheckFailedParams, now: datetime
    ) -> Finding | None:
        failing = [
            check
            for check in latest_per_check(history.checks)
            if not check.passed and selected(check, params)
        ]
        if not failing:
            return None
        starts = {check.check_name: failing_since(history.checks, check) for check in failing}
        return Finding(
            summary=summary(history.key, failing),
            since=min(starts.values()),
            details={
                "checks": [
                    {
                        "name": check.check_name,
                        "severity": check.severity,
                        "description": check.description,
                        "evaluated_at": iso(check.evaluated_at),
                        "failing_since": iso(starts[check.check_name]),
                        "run_id": check.run_id,
                        "blocking": check.blocking,
                    }
                    for check in failing
                ]
            },
            run_id=failing[0].run_id,
            severity=own_severity(failing) if params.severity == "any" else None,
        )


def latest_per_check(checks: tuple[CheckSample, ...]) -> list[CheckSample]:
    """The first (newest) evaluation of each check name, in the order given."""
    latest: dict[str, CheckSample] = {}
    for check in checks:
        latest.setdefault(check.check_name, check)
    return list(latest.values())


def selected(check: CheckSample, params: CheckFailedParams) -> bool:
    severity_ok = params.severity == "any" or check.severity == params.severity
    return severity_ok and matches(check.check_name, params.check_name)


def failing_since(checks: tuple[CheckSample, ...], latest: CheckSample) -> datetime:
    """When the current streak of failed evaluations of this check began."""
    since = latest.evaluated_at
    for check in checks:
        if check.check_name != latest.check_name:
            continue
        if check.passed:
            break
        since = check.evaluated_at
    return since


def summary(key: str, failing: list[CheckSample]) -> str:
    if len(failing) == 1:
        check = failing[0]
        description = first_line(check.description)
        tail = f": {description}" if description else ""
        return f"{key}: check {check.check_name} failed ({label(check)}){tail}"
    listed = ", ".join(f"{check.check_name} ({label(check)})" for check in failing)
    return f"{key}: {len(failing)} checks failed: {listed}"


def label(check: CheckSample) -> str:
    """Its severity, and for a blocking check that it blocked: Dagster then skipped the
    materialisations downstream of the asset in that run, so they are missing, not late."""
    return f"{check.severity}, blocking downstream" if check.blocking else check.severity


def own_severity(failing: list[CheckSample]) -> str:
    return Severity.CRITICAL if any(c.severity == "ERROR" for c in failing) else Severity.WARNING
