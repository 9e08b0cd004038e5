"""Duration is judged per asset from its own step (issue 15): the history the engine hands to
kinds carries each asset's step timing, and one slow step of a multi-asset run flags one source
(the kind-level cases are in tests/alerts/rules/test_duration.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.choices import AlertState
from alerts.engine import evaluation, history
from alerts.models import Alert, AlertRule
from monitoring.choices import AssetEventKind
from monitoring.models import AssetEvent, Run, RunAsset, Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def step(key: str, start: datetime, seconds: float) -> dict[str, Any]:
    begin = start.timestamp()
    return {"stepKey": key, "status": "SUCCESS", "startTime": begin, "endTime": begin + seconds}


def multi_asset_run(sources: dict[Source, float], ended_at: datetime) -> Run:
    """One run materialising each source in its own step, which took the given seconds."""
    first, *others = sources
    run = f.run(first, ended_at, duration_s=sum(sources.values()))
    start = run.started_at
    assert start is not None
    stats = []
    for source, seconds in sources.items():
        stats.append(step(f"crawl_{source.key}", start, seconds))
        AssetEvent.objects.create(
            source=source,
            run=run,
            dagster_run_id=run.run_id,
            kind=AssetEventKind.MATERIALIZATION,
            timestamp=start + timedelta(seconds=seconds),
            dagster_timestamp=str(int((start.timestamp() + seconds) * 1000)),
            step_key=f"crawl_{source.key}",
        )
        start += timedelta(seconds=seconds)
    run.step_stats = stats
    run.save(update_fields=["step_stats"])
    for source in others:
        RunAsset.link(run, source, "materialized").save()
    return run


def test_each_asset_of_a_run_gets_its_own_step_timing() -> None:
    dep = f.deployment()
    fast, slow = f.source("fast", dep), f.source("slow", dep)
    run = multi_asset_run({fast: 60, slow: 840}, T0)
    loaded = history.load_sources([fast, slow])
    fast_run, slow_run = loaded[fast.pk].runs[0], loaded[slow.pk].runs[0]
    assert fast_run.step is not None and slow_run.step is not None
    assert (fast_run.step.key, fast_run.step.seconds) == ("crawl_fast", 60)
    assert (slow_run.step.key, slow_run.step.seconds) == ("crawl_slow", 840)
    assert slow_run.step.started_at == run.started_at + timedelta(seconds=60)  # type: ignore[operator]
    assert fast_run.duration_s == slow_run.duration_s == 900


def test_a_run_without_step_stats_or_materialisation_has_no_step_timing() -> None:
    dep = f.deployment()
    old = f.source("old", dep)
    f.run(old, T0)
    pushed = f.source("pushed_feed")
    f.run(pushed, T0)
    loaded = history.load_sources([old, pushed])
    assert loaded[old.pk].runs[0].step is None
    assert loaded[pushed.pk].runs[0].step is None


def count_queries(sources: list[Source]) -> int:
    with CaptureQueriesContext(connection) as captured:
        history.load_sources(sources)
    return len(captured.captured_queries)


def test_loading_step_timings_costs_the_same_queries_for_many_sources() -> None:
    dep = f.deployment()
    few = [f.source(f"few_{i}", dep) for i in range(2)]
    many = [f.source(f"many_{i}", dep) for i in range(12)]
    for day in range(3):
        multi_asset_run(dict.fromkeys(few, 30.0), T0 - timedelta(days=day))
        multi_asset_run(dict.fromkeys(many, 30.0), T0 - timedelta(days=day))
    assert count_queries(many) == count_queries(few)


def test_one_slow_step_of_a_two_asset_run_flags_only_its_asset() -> None:
    AlertRule.objects.all().delete()
    dep = f.deployment()
    usual, slowed = f.source("usual", dep), f.source("slowed", dep)
    f.rule("Duration", "duration", [f.channel()], parameters={"factor": 3})
    for day in range(6, 0, -1):
        multi_asset_run({usual: 240, slowed: 240}, T0 - timedelta(days=day))
    multi_asset_run({usual: 240, slowed: 840}, T0)  # the run took 18 min against 8
    evaluation.evaluate(T0 + timedelta(minutes=1))
    alert = Alert.objects.get()
    assert alert.source == slowed and alert.state == AlertState.FIRING
    assert alert.summary.startswith("slowed: step crawl_slowed of run ")
    assert "took 14 min, over its limit of 12 min (3x the median of 4 min)" in alert.summary


def test_a_run_without_step_timing_still_flags_every_asset_by_its_duration() -> None:
    """Runs stored before step timing (or never detailed): the run's duration, as before."""
    AlertRule.objects.all().delete()
    dep = f.deployment()
    first, second = f.source("first", dep), f.source("second", dep)
    f.rule("Duration", "duration", [f.channel()], parameters={"factor": 3})
    for day in range(6, 0, -1):
        shared_run([first, second], T0 - timedelta(days=day), 480)
    shared_run([first, second], T0, 1500)
    evaluation.evaluate(T0 + timedelta(minutes=1))
    assert {a.source for a in Alert.objects.all()} == {first, second}


def shared_run(sources: list[Source], ended_at: datetime, seconds: float) -> None:
    run = f.run(sources[0], ended_at, duration_s=seconds)
    for source in sources[1:]:
        RunAsset.link(run, source, "materialized").save()
