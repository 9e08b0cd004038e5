"""Fault switches read at run time from one JSON file, so a live webserver breaks on demand.

File: ``RETAILFEED_FAULTS_FILE``, else ``$DAGSTER_HOME/retailfeed_faults.json``. Missing or
malformed means "no faults" (never a broken healthy run). Shape::

    {"location": {"fail": true, "message": "..."},     # definitions raise on (re)load
     "run": {"fail": true, "message": "...",           # the executor raises at run start
             "jobs": ["catalog_job"]},
     "assets": {"retail/acme/products": {"fail": true, "message": "...",
                                         "error_type": "ConnectionError",
                                         "partitions": ["2026-12-01"]},
                "retail/acme/prices": [{"volume_factor": 0.35, "partitions": ["2026-12-04"]},
                                       {"fail": true, "partitions": ["2026-12-05"]}],
                "*": {"volume_factor": 1.0}}}

An asset's value is one entry or a list of entries; ``partitions`` limits an entry to those
partition keys (absent: every partition), ``jobs`` limits the run switch to those jobs (absent:
every job). Later entries win over earlier ones, an asset's own over ``*``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAULTS_FILE_ENV = "RETAILFEED_FAULTS_FILE"
FAULTS_FILE_NAME = "retailfeed_faults.json"
ALL_ASSETS = "*"

ERROR_TYPES: dict[str, type[Exception]] = {
    "ConnectionError": ConnectionError,
    "TimeoutError": TimeoutError,
    "RuntimeError": RuntimeError,
    "ValueError": ValueError,
    "PermissionError": PermissionError,
}


class RetailFeedFault(RuntimeError):
    """Raised where a switch asks for a failure that has no more realistic exception."""


@dataclass(frozen=True)
class AssetFault:
    """One asset's faults for one partition; the defaults mean healthy."""

    fail: bool = False
    message: str | None = None
    error_type: str = "RuntimeError"
    volume_factor: float = 1.0

    def raise_if_failing(self, default_message: str) -> None:
        if self.fail:
            raise ERROR_TYPES.get(self.error_type, RuntimeError)(self.message or default_message)


def faults_file_path(env: Mapping[str, str] | None = None) -> Path | None:
    """``RETAILFEED_FAULTS_FILE``, else the file under ``DAGSTER_HOME``, else None."""
    env = os.environ if env is None else env
    if env.get(FAULTS_FILE_ENV):
        return Path(env[FAULTS_FILE_ENV]).expanduser()
    if env.get("DAGSTER_HOME"):
        return Path(env["DAGSTER_HOME"]).expanduser() / FAULTS_FILE_NAME
    return None


def read_faults(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The faults file now (read per step, run or load, never cached)."""
    path = faults_file_path(env)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _switch(section: str, job: str | None = None) -> tuple[bool, str | None]:
    entry = read_faults().get(section) or {}
    if not isinstance(entry, dict):
        return False, None
    jobs = entry.get("jobs")
    if jobs is not None and job not in jobs:
        return False, None
    return bool(entry.get("fail")), entry.get("message")


def location_fault() -> tuple[bool, str | None]:
    """Whether loading the definitions must fail (a broken code location), and why."""
    return _switch("location")


def run_fault(job: str) -> tuple[bool, str | None]:
    """Whether ``job``'s executor must fail to start (a run failure before any step), and why."""
    return _switch("run", job)


def asset_fault(asset_path: str, partition: str | None = None) -> AssetFault:
    """Faults for ``asset_path`` (``retail/acme/products``) in ``partition``; ``*`` is all."""
    assets = read_faults().get("assets") or {}
    merged: dict[str, Any] = {}
    for name in (ALL_ASSETS, asset_path):
        value = assets.get(name) if isinstance(assets, dict) else None
        for entry in value if isinstance(value, list) else [value]:
            if not isinstance(entry, dict):
                continue
            only = entry.get("partitions")
            if only is not None and partition not in only:
                continue
            fields = AssetFault.__dataclass_fields__
            merged.update({k: v for k, v in entry.items() if k in fields})
    try:
        return AssetFault(**merged)
    except TypeError:
        return AssetFault()
