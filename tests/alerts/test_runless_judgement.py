"""Runless events (external assets, ``report_runless_asset_event``, observable sources) are
judged like runs for freshness and volume, through the engine on model rows: runs from the
factories, runless events through the poll's own store path (``monitoring.runless``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.choices import AlertState
from alerts.engine import evaluation, history
from alerts.models import Alert
from monitoring import runless
from monitoring.choices import AssetEventKind
from monitoring.dagster.parse import AssetEventRecord
from monitoring.models import Source
from tests.alerts import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_our_rules")]

T0 = datetime(2026, 11, 10, 0, 10, tzinfo=UTC)  # the nightly runs end at 00:10
DAY = timedelta(days=1)
DAILY = "Daily, starting 2026-01-01 UTC."
ROWS = "dagster/row_count"
# Due 2026-11-11 00:10 after a success at T0; stale 2 h 30 min later. Without the success at
# T0 the source was stale at 2026-11-10 02:30 already.
BEFORE_DEADLINE = T0 + DAY + timedelta(hours=1, minutes=50)


@pytest.fixture(autouse=True)
def at_start() -> Iterator[None]:
    """Sources are first seen a week before T0, before their first run."""
    with time_machine.travel(T0 - 7 * DAY, tick=False):
        yield


def report(
    src: Source,
    at: datetime,
    metrics: dict[str, float] | None = None,
    partition: str = "",
    kind: str = AssetEventKind.MATERIALIZATION,
) -> None:
    """An event reported outside any run, stored as the poll stores it."""
    ms = str(int(at.timestamp() * 1000))
    record = AssetEventRecord(kind, src.key, ms, "", partition, metrics or {}, {})
    runless.store_runless_events(src.deployment, [record])  # type: ignore[arg-type]


def nightly_runs(src: Source, metrics: dict[str, float] | None = None) -> None:
    """Five nightly successes before T0, each of the previous day's partition when the source
    is partitioned."""
    partitioned = bool(src.partitions_definition)
    for days in range(5, 0, -1):
        at = T0 - days * DAY
        partition = f"{at - DAY:%Y-%m-%d}" if partitioned else ""
        f.run(src, at, metrics=metrics, partition=partition)


def stale_at(src: Source, now: datetime) -> bool:
    evaluation.evaluate(now)
    return Alert.objects.filter(source=src, rule__kind="stale", state=AlertState.FIRING).exists()


def test_a_runless_report_of_the_newest_partition_keeps_a_partitioned_asset_fresh() -> None:
    f.rule("Stale", "stale", [f.channel()])
    src = f.source("retail/corvid/products", f.deployment(), partitions_definition=DAILY)
    nightly_runs(src)
    report(src, T0, {ROWS: 450}, partition="2026-11-09")
    loaded = history.load_sources([src])[src.pk]
    assert [(e.partition, e.at, e.metrics, e.runless) for e in loaded.runless] == [
        ("2026-11-09", T0, {ROWS: 450.0}, True)
    ]
    assert not stale_at(src, BEFORE_DEADLINE)
    assert stale_at(src, T0 + DAY + timedelta(hours=2, minutes=31))


def test_a_partitioned_asset_whose_runs_stopped_is_stale_without_the_runless_event() -> None:
    f.rule("Stale", "stale", [f.channel()])
    src = f.source("retail/corvid/products", f.deployment(), partitions_definition=DAILY)
    nightly_runs(src)
    assert stale_at(src, BEFORE_DEADLINE)


def test_a_runless_event_of_an_old_partition_does_not_freshen_a_partitioned_asset() -> None:
    f.rule("Stale", "stale", [f.channel()])
    src = f.source("retail/corvid/products", f.deployment(), partitions_definition=DAILY)
    nightly_runs(src)
    report(src, T0, {ROWS: 450}, partition="2026-10-01")
    alert_now = stale_at(src, BEFORE_DEADLINE)
    assert alert_now, "a report of October's partition is not today's"
    alert = Alert.objects.get(source=src)
    assert "newest partition 2026-11-08" in alert.summary, alert.summary


def test_an_unpartitioned_asset_s_last_success_is_the_newer_of_run_and_runless_event() -> None:
    f.rule("Stale", "stale", [f.channel()])
    src = f.source("raw/prices", f.deployment())
    nightly_runs(src)
    report(src, T0, kind=AssetEventKind.OBSERVATION)
    assert not stale_at(src, BEFORE_DEADLINE)
    alone = f.source("raw/prices_alone", f.deployment("other"))
    nightly_runs(alone)
    assert stale_at(alone, BEFORE_DEADLINE)


def drop_alert(src: Source, now: datetime) -> Alert | None:
    evaluation.evaluate(now)
    return Alert.objects.filter(
        source=src, rule__kind="volume_drop", state=AlertState.FIRING
    ).first()


def test_a_runless_materialisation_with_a_dropped_row_count_raises_the_volume_drop() -> None:
    f.rule("Volume drop", "volume_drop", [f.channel()])
    src = f.source("retail/corvid/products", f.deployment(), partitions_definition=DAILY)
    nightly_runs(src, {ROWS: 1000})
    report(src, T0, {ROWS: 300}, partition="2026-11-09")
    alert = drop_alert(src, T0 + timedelta(minutes=1))
    assert alert is not None
    assert f"{ROWS} 300 is 70% below its average of 1,000 over 5 runs" in alert.summary
    assert alert.details["runless"] == "materialized"
    assert alert.details["partition"] == "2026-11-09"


def test_observations_of_an_observable_source_are_its_volume_under_a_key_with_spaces() -> None:
    """A source asset only observed, reporting ``Number of records``: its keys are learned from
    the observations and the automatic choice judges them."""
    f.rule("Volume drop", "volume_drop", [f.channel()])
    src = f.source("retail/supplier_feed", f.deployment())
    for days, count in ((5, 1000), (4, 980), (3, 1020), (2, 1000), (1, 990), (0, 350)):
        report(src, T0 - days * DAY, {"Number of records": count}, kind=AssetEventKind.OBSERVATION)
    src.refresh_from_db()
    assert src.metric_keys["Number of records"]["reports"] == 6
    alert = drop_alert(src, T0 + timedelta(minutes=1))
    assert alert is not None
    assert "Number of records 350 is 65% below" in alert.summary, alert.summary
    assert alert.details["runless"] == "observed" and alert.details["metric"] == "Number of records"


def test_runless_samples_merge_with_runs_in_time_order() -> None:
    """A small runless report between two runs is history, not the latest value."""
    f.rule("Volume drop", "volume_drop", [f.channel()])
    src = f.source("raw/prices", f.deployment())
    nightly_runs(src, {ROWS: 1000})
    report(src, T0 - timedelta(hours=12), {ROWS: 300})
    f.run(src, T0, metrics={ROWS: 1000})
    samples = history.load_sources([src])[src.pk].produced()
    assert [(s.runless, s.metrics[ROWS]) for s in samples[:3]] == [
        (False, 1000.0),
        (True, 300.0),
        (False, 1000.0),
    ]
    assert drop_alert(src, T0 + timedelta(minutes=1)) is None


def test_a_small_runless_report_of_an_old_partition_is_no_drop() -> None:
    f.rule("Volume drop", "volume_drop", [f.channel()])
    src = f.source("retail/corvid/products", f.deployment(), partitions_definition=DAILY)
    nightly_runs(src, {ROWS: 1000})
    report(src, T0, {ROWS: 30}, partition="2026-10-01")
    assert drop_alert(src, T0 + timedelta(minutes=1)) is None


def test_runless_events_are_loaded_in_one_query_bounded_per_source() -> None:
    dep = f.deployment()
    few = [f.source(f"few_{i}", dep) for i in range(2)]
    many = [f.source(f"many_{i}", dep) for i in range(8)]
    for src in [*few, *many]:
        for minutes in range(history.RUNLESS_PER_SOURCE + 5):
            report(src, T0 + timedelta(minutes=minutes), {ROWS: minutes})
    loaded = history.load_sources(many)
    assert {len(h.runless) for h in loaded.values()} == {history.RUNLESS_PER_SOURCE}
    newest = loaded[many[0].pk].runless[0]
    assert newest.at == T0 + timedelta(minutes=history.RUNLESS_PER_SOURCE + 4)
    assert count_queries(many) == count_queries(few)


def count_queries(sources: list[Source]) -> int:
    with CaptureQueriesContext(connection) as captured:
        history.load_sources(sources)
    return len(captured.captured_queries)
