"""confops_stalled judges what the watcher observed: a silent beat, no live worker, a poller
that stopped; and one finding lists every stalled part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.rules.confops_stalled import PollerState, Snapshot, Thresholds, finding_for, judge

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
THRESHOLDS = Thresholds(heartbeat_stale_seconds=90, poll_intervals=5, poll_floor_seconds=60)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def poller(name: str = "prod", polled_ago: float = 1, gap: float = 2) -> PollerState:
    return PollerState(name, ago(polled_ago), expected_gap_seconds=gap)


def test_nothing_is_stalled_while_heartbeats_and_polls_are_fresh() -> None:
    snapshot = Snapshot(beat_at=ago(10), worker_at=ago(5), pollers=(poller(),))
    assert judge(snapshot, THRESHOLDS, NOW) == []


def test_a_silent_beat_is_a_stall_from_the_moment_its_threshold_passed() -> None:
    [stall] = judge(Snapshot(beat_at=ago(300), worker_at=ago(5)), THRESHOLDS, NOW)
    assert stall.component == "beat"
    assert stall.summary == "beat silent for 5 min"
    assert stall.since == ago(300) + timedelta(seconds=90)


def test_a_heartbeat_exactly_at_the_threshold_is_not_yet_stale() -> None:
    assert judge(Snapshot(beat_at=ago(90), worker_at=ago(90)), THRESHOLDS, NOW) == []


def test_no_live_worker_is_a_stall_of_its_own() -> None:
    [stall] = judge(Snapshot(beat_at=ago(1), worker_at=ago(200)), THRESHOLDS, NOW)
    assert stall.component == "workers" and stall.summary == "no worker alive for 3 min 20 s"


def test_a_poller_stalls_after_n_intervals_but_never_before_the_floor() -> None:
    fast = poller("fast", polled_ago=61, gap=2)  # 5 x 2 s = 10 s, but the floor is 60 s
    slow = poller("slow", polled_ago=290, gap=60)  # 5 x 60 s = 300 s: not yet
    stalls = judge(Snapshot(ago(1), ago(1), (fast, slow)), THRESHOLDS, NOW)
    assert [s.component for s in stalls] == ["poller:fast"]
    assert stalls[0].since == ago(61) + timedelta(seconds=60)
    later = judge(Snapshot(ago(1), ago(1), (slow,)), THRESHOLDS, NOW + timedelta(seconds=11))
    assert [s.summary for s in later] == ["slow not polled for 5 min 1 s"]


def test_a_poller_backing_off_from_a_failing_dagster_is_not_stalled() -> None:
    """Its polls run and fail (deployment_unreachable's business); the gap is its backoff."""
    backing_off = poller("down", polled_ago=250, gap=300)
    assert judge(Snapshot(ago(1), ago(1), (backing_off,)), THRESHOLDS, NOW) == []


def test_one_finding_lists_every_stalled_part_since_the_earliest() -> None:
    stalls = judge(Snapshot(ago(300), ago(200), (poller(polled_ago=400),)), THRESHOLDS, NOW)
    finding = finding_for(stalls)
    assert finding is not None
    assert finding.summary.startswith("confops stalled: beat silent for 5 min; no worker alive")
    assert "prod not polled for 6 min" in finding.summary
    assert finding.since == ago(400) + timedelta(seconds=60)
    assert [s["component"] for s in finding.details["stalls"]] == ["beat", "workers", "poller:prod"]
    assert finding_for([]) is None
