"""Each pytest-xdist worker gets a data folder of its own (file cache, embedded broker, SQLite).

Loaded with ``-p tests.worker_isolation`` (pyproject's addopts), which imports it before
pytest-django reads the settings: ``CONFOPS_DATA_DIR`` must be set by then. Without it, one
worker's ``cache.clear()`` between tests, its evaluation lock or its broker traffic would reach
the other worker's tests.
"""

from __future__ import annotations

import os
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    _base = Path(
        os.environ.get("CONFOPS_DATA_DIR") or Path(__file__).resolve().parent.parent / "var"
    )
    os.environ["CONFOPS_DATA_DIR"] = str(_base / _worker)
