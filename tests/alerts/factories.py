"""Stored history for engine tests: deployments, sources and runs as the poller writes them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from alerts.choices import ChannelKind, Severity
from alerts.models import AlertRule, Channel
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
    )
    outcome = RunAssetOutcome.MATERIALIZED if ok else RunAssetOutcome.FAILED
    RunAsset.link(created, src, outcome, metrics).save()
    if src.note_run(status, ended_at, metrics or {}):
        src.save()
    return created


def channel(name: str = "ops-slack", kind: str = ChannelKind.SLACK, **fields: Any) -> Channel:
    fields.setdefault("min_severity", Severity.INFO)
    return Channel.objects.create(name=name, kind=kind, secret="https://hooks.example/x", **fields)


def rule(name: str, kind: str, channels: list[Channel] | None = None, **fields: Any) -> AlertRule:
    created = AlertRule.objects.create(name=name, kind=kind, **fields)
    created.channels.set(channels or [])
    return created
