"""Builders for the snapshots rules judge, with defaults that read as "a healthy daily job"."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.rules.base import (
    CheckSample,
    DeploymentHistory,
    Finding,
    ParamsError,
    RunSample,
    ScheduleSample,
    SourceHistory,
    TickSample,
    kind,
)

# A Wednesday, noon UTC: tests count back from here.
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
KEY = "wikicfp_conferences"

_ids = itertools.count(1)

OUTCOMES = {"SUCCESS": "materialized", "FAILURE": "failed", "CANCELED": "skipped"}


def run(
    ended_at: datetime | None = None,
    *,
    status: str = "SUCCESS",
    outcome: str | None = None,
    started_at: datetime | None = None,
    duration_s: float | None = None,
    minutes: float = 10,
    run_id: str | None = None,
    **fields: Any,
) -> RunSample:
    """A finished run that took ``minutes``; pass ``ended_at=None`` with ``started_at`` and an
    open status (STARTED) for a run in progress."""
    if ended_at is None and started_at is None:
        ended_at = NOW - timedelta(hours=1)
    if started_at is None and ended_at is not None:
        started_at = ended_at - timedelta(minutes=minutes)
    if duration_s is None and started_at and ended_at:
        duration_s = (ended_at - started_at).total_seconds()
    return RunSample(
        run_id=run_id or f"run-{next(_ids)}",
        status=status,
        outcome=outcome or OUTCOMES.get(status, "planned"),
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration_s,
        **fields,
    )


def success(ended_at: datetime | None = None, **fields: Any) -> RunSample:
    return run(ended_at, status="SUCCESS", **fields)


def failure(ended_at: datetime | None = None, error: str = "HTTP 503", **fields: Any) -> RunSample:
    return run(ended_at, status="FAILURE", error=error, **fields)


def running(started_at: datetime, status: str = "STARTED", **fields: Any) -> RunSample:
    return run(None, status=status, outcome="planned", started_at=started_at, **fields)


def with_metric(ended_at: datetime, value: float, metric: str = "count") -> RunSample:
    return success(ended_at, metrics={metric: value})


def history(*runs: RunSample, **fields: Any) -> SourceHistory:
    """A source's snapshot; runs are sorted newest first and last_success_at follows them."""
    ordered = tuple(sorted(runs, key=lambda r: r.at or NOW, reverse=True))
    successes = [r.at for r in ordered if r.succeeded and r.at]
    failures = [r.at for r in ordered if r.failed_finally and r.at]
    defaults: dict[str, Any] = {
        "source_id": 1,
        "key": KEY,
        "kind": "asset",
        "deployment_id": 1,
        "group": "ingest",
        "tags": {},
        "first_seen_at": NOW - timedelta(days=60),
        "runs": ordered,
        "last_success_at": max(successes, default=None),
        "last_failure_at": max(failures, default=None),
    }
    return SourceHistory(**{**defaults, **fields})


def check(
    name: str,
    *,
    passed: bool = False,
    severity: str = "ERROR",
    description: str = "",
    at: datetime | None = None,
    run_id: str = "",
    blocking: bool = False,
) -> CheckSample:
    at = at or NOW - timedelta(hours=1)
    return CheckSample(name, passed, severity, description, at, run_id, blocking)


def schedule(
    cron: str = "0 2 * * *", timezone: str = "UTC", running: bool = True
) -> ScheduleSample:
    return ScheduleSample(name="daily_refresh", cron=cron, timezone=timezone, running=running)


def tick(instigator: str, at: datetime, error: str = "", of: str = "sensor") -> TickSample:
    return TickSample(
        instigator=instigator, kind=of, tick_id=f"tick-{next(_ids)}", at=at, error=error
    )


def deployment(**fields: Any) -> DeploymentHistory:
    """A reachable, healthy, enabled deployment unless told otherwise."""
    defaults: dict[str, Any] = {
        "deployment_id": 1,
        "name": "prod",
        "enabled": True,
        "last_success_at": NOW - timedelta(minutes=1),
        "failing_since": None,
        "last_error": "",
        "consecutive_failures": 0,
        "daemon_health": {"SCHEDULER": {"required": True, "healthy": True}},
        "code_location_errors": {},
    }
    return DeploymentHistory(**{**defaults, **fields})


def days_ago(days: float, at: datetime = NOW) -> datetime:
    return at - timedelta(days=days)


def judge(name: str, hist: SourceHistory, now: datetime = NOW, **params: Any) -> Finding | None:
    """Validate ``params`` as the engine does, then evaluate the source kind ``name``."""
    impl = kind(name)
    return impl.evaluate_source(hist, impl.parse_params(params), now)


def judge_deployment(
    name: str, hist: DeploymentHistory, now: datetime = NOW, **params: Any
) -> Finding | None:
    impl = kind(name)
    return impl.evaluate_deployment(hist, impl.parse_params(params), now)


def param_errors(name: str, **raw: Any) -> dict[str, str]:
    """The per-field messages a person would see in the admin for these parameters."""
    with pytest.raises(ParamsError) as caught:
        kind(name).parse_params(raw)
    return caught.value.messages
