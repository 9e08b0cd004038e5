"""Fewer and cheaper garbage collections in a long-lived web worker, and in a replay.

A status page of 1,000 sources allocates about 40,000 objects. With Python's default
thresholds (700, 10, 10) about one request in four paid a full collection that walked the
whole heap: Django, the URL map, compiled templates, none of which ever becomes garbage
(docs/performance.md: the page's p95 was twice its median). After start-up that heap is frozen
(``gc.freeze``: left out of every later collection) and young collections wait for 50,000
allocations instead of 700; a page's own garbage has few cycles and is freed by reference
counting as it goes.
"""

from __future__ import annotations

import gc

# Allocations between two young-generation collections in a web worker (Python's default: 700).
WEB_GEN0_THRESHOLD = 50_000


def tune_for_requests() -> None:
    """Call once the app is loaded (gunicorn's ``post_worker_init``)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(WEB_GEN0_THRESHOLD, gen1, gen2)


# In a replay's child process (Python's default: 700): a replayed month of 300 sources, 165 MB
# at most either way, took 18.6 s of CPU at 50,000 and 16.6 s at 500,000.
REPLAY_GEN0_THRESHOLD = 500_000


def tune_for_replay() -> None:
    """The same for a replay's child process, which lives a minute or so: a month of a fleet
    keeps every run and history it reads, so each collection walked a growing heap that never
    becomes garbage."""
    tune_for_requests()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(REPLAY_GEN0_THRESHOLD, gen1, gen2)
