"""Each pytest-xdist worker gets a data folder and Redis databases of its own.

Loaded with ``-p tests.worker_isolation`` (pyproject's addopts), which imports it before
pytest-django reads the settings, so the environment it sets is what settings.py and every child
process (workers, beat, gunicorn) read. Without it, one worker's ``cache.clear()`` between
tests, its evaluation lock, its heartbeats or its broker traffic would reach the other worker's
tests. PostgreSQL needs nothing here: pytest-django gives each worker its own test database.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REDIS_DB = re.compile(r"^(rediss?://.*/)(\d+)$")


def own_redis_database(url: str, worker_index: int) -> str:
    """The URL's database number moved up by two per worker (broker and cache each use one)."""
    match = REDIS_DB.match(url)
    if not match:
        return url
    return f"{match.group(1)}{int(match.group(2)) + 2 * worker_index}"


_worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
if _worker:
    _root = Path(__file__).resolve().parent.parent
    _base = Path(os.environ.get("CONFOPS_DATA_DIR") or _root / "var")
    os.environ["CONFOPS_DATA_DIR"] = str(_base / _worker)
    for _name in ("CELERY_BROKER_URL", "CACHE_URL"):
        if os.environ.get(_name):
            os.environ[_name] = own_redis_database(os.environ[_name], int(_worker[2:]))
