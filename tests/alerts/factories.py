"""Stored history for engine tests: deployments, sources and runs as the poller writes them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from alerts.choices import AlertState, ChannelKind, Severity
from alerts.engine import policy
from alerts.models import Alert, AlertRule, Channel, Notification
from monitoring.choices import RunAssetOutcome, RunOrigin, RunStatus, SourceKind
from monitoring.models import Deployment, Run, RunAsset, Source

_ids = itertools.count(1)


def deployment(name: str = "confradar", **fields: Any) -> Deployment:
    return Deployment.objects.create(name=name, graphql_url=f"http://{name}/graphql", **fields)


def source(key: str, dep: Deployment | None = None, **fields: Any) -> Source:
    fields.setdefault("kind", SourceKind.ASSET if dep else SourceKind.PUSHED)
    fields.setdefault("group_name", "scrapers")
    return Source.objects.create(deployment=dep, key=key, slug=f"{key}-{next(_ids)}", **fields)


def run(
    src: Source,
    ended_at: datetime,
    ok: bool = True,
    metrics: dict[str, float] | None = None,
    duration_s: float = 60.0,
    error: str = "HTTP 503 from upstream",
    will_retry: bool = False,
    partition: str = "",
    backfill_id: str = "",
) -> Run:
    status = RunStatus.SUCCESS if ok else RunStatus.FAILURE
    created = Run.objects.create(
        deployment=src.deployment,
        pushed_source=None if src.deployment else src,
        origin=RunOrigin.DAGSTER if src.deployment else RunOrigin.PUSHED,
        run_id=f"run-{next(_ids)}",
        job_name="crawl_job",
        status=status,
        created_at=ended_at - timedelta(seconds=duration_s + 1),
        started_at=ended_at - timedelta(seconds=duration_s),
        ended_at=ended_at,
        duration_s=duration_s,
        error_message="" if ok else error,
        failed_step="" if ok else src.key,
        will_retry=will_retry,
        details_fetched=True,
        partition=partition,
        backfill_id=backfill_id,
    )
    outcome = RunAssetOutcome.MATERIALIZED if ok else RunAssetOutcome.FAILED
    RunAsset.link(created, src, outcome, metrics).save()
    if src.note_run(status, ended_at, metrics or {}):
        src.save()
    return created


def channel(name: str = "ops-slack", kind: str = ChannelKind.SLACK, **fields: Any) -> Channel:
    fields.setdefault("min_severity", Severity.INFO)
    fields.setdefault("secret", "https://hooks.example/x")
    return Channel.objects.create(name=name, kind=kind, **fields)


def rule(name: str, kind: str, channels: list[Channel] | None = None, **fields: Any) -> AlertRule:
    created = AlertRule.objects.create(name=name, kind=kind, **fields)
    created.channels.set(channels or [])
    return created


def alert(
    rule_: AlertRule,
    src: Source,
    at: datetime,
    summary: str = "",
    error: str = "HTTP 503 from upstream",
    **fields: Any,
) -> Alert:
    """A firing alert as the engine leaves it."""
    fields.setdefault("severity", rule_.severity)
    fields.setdefault("state", AlertState.FIRING)
    return Alert.objects.create(
        rule=rule_,
        source=src,
        deployment=src.deployment,
        summary=summary or f"{src.key} failed: {error.splitlines()[0]}",
        details={"error": error},
        opened_at=at,
        condition_since=at,
        fired_at=at,
        last_seen_at=at,
        **fields,
    )


def notification(
    chan: Channel | None, event: str, alerts: list[Alert], at: datetime
) -> Notification:
    """An outbox row written by the policy (its dispatch waits for a commit)."""
    assert chan is not None
    return policy.create_notification(chan, event, alerts[0].rule, alerts, at)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
