"""The web worker's garbage collection set-up (confops/common/gc_tuning.py), as gunicorn's
``post_worker_init`` applies it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from confops import gunicorn_conf
from confops.common.gc_tuning import REPLAY_GEN0_THRESHOLD, WEB_GEN0_THRESHOLD, tune_for_replay


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_worker_freezes_its_loaded_heap_and_collects_young_objects_less_often(
    restored_gc: None,
) -> None:
    _, gen1, gen2 = gc.get_threshold()
    gunicorn_conf.post_worker_init(worker=None)
    assert gc.get_freeze_count() > 10_000  # Django and the test session's modules
    assert gc.get_threshold() == (WEB_GEN0_THRESHOLD, gen1, gen2)
    # Garbage with cycles made after the freeze is still collected.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


def test_a_replay_child_collects_young_objects_far_less_often(restored_gc: None) -> None:
    """Set by ``manage.py replay --inner`` before it simulates (docs/replay.md)."""
    _, gen1, gen2 = gc.get_threshold()
    tune_for_replay()
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold() == (REPLAY_GEN0_THRESHOLD, gen1, gen2)
    assert REPLAY_GEN0_THRESHOLD > WEB_GEN0_THRESHOLD
