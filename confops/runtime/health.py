"""Health checks behind /health/ready and /health/detailed.

Each check is timed and returns a ``CheckResult``; none raises, so one broken component names
itself instead of turning the whole endpoint into a 500.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from alerts.engine import watcher
from alerts.rules.confops_stalled import Stall
from confops.common import queues
from confops.common.secrets import redact_error
from confops.runtime import broker as embedded_broker
from confops.runtime import heartbeat, processes, watchdog
from monitoring.models import Deployment

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    name: str
    ok: bool
    duration_ms: float
    error: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["duration_ms"] = round(self.duration_ms, 2)
        return {k: v for k, v in result.items() if v not in ("", {})}


def timed(name: str, check: Callable[[], dict[str, Any] | None]) -> CheckResult:
    """Run ``check``; it returns extra info or raises to report failure."""
    started = time.perf_counter()
    try:
        info = check() or {}
    except Exception as exc:  # a health check must report, never raise
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(name, False, elapsed, error=redact_error(exc)[:500])
    elapsed = (time.perf_counter() - started) * 1000
    return CheckResult(name, True, elapsed, info=info)


def database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def broker() -> dict[str, Any]:
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not os.access(folder, os.W_OK):
            raise OSError(f"broker folder {folder} is not writable")
        # Unreadable messages are set aside, not fatal: counted here for an operator to look at.
        return {
            "transport": "filesystem",
            "rejected_messages": embedded_broker.rejected_count(settings.BROKER_DIR),
        }
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS
        )
        return {"transport": conn.transport_cls}


def shared_cache() -> dict[str, Any]:
    key = "confops:health:probe"
    token = str(time.time())
    cache.set(key, token, 30)
    if cache.get(key) != token:
        raise RuntimeError("cache did not return the value just written")
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def heartbeat_age(key: str, now: float) -> dict[str, Any]:
    beat = heartbeat.read(key)
    if beat is None:
        raise RuntimeError("no heartbeat recorded yet")
    at = float(beat["at"])
    age = heartbeat.age_seconds(now, at)
    info: dict[str, Any] = {"age_seconds": round(age, 1), "host": beat.get("host", "")}
    if at > now:  # the writer's clock is ahead of ours: say so rather than show a negative age
        info["clock_ahead_seconds"] = round(at - now, 1)
    if age > settings.HEARTBEAT_STALE_SECONDS:
        raise RuntimeError(
            f"last heartbeat {age:.0f} s ago (stale after {settings.HEARTBEAT_STALE_SECONDS} s)"
        )
    return info


def workers() -> dict[str, Any]:
    """Ask every worker through the broker; an answer proves it is connected and responsive."""
    replies = current_app.control.ping(timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS / 3) or []
    hosts = sorted(host for reply in replies for host in reply)
    if not hosts:
        raise RuntimeError("no worker answered a ping")
    return {"workers": hosts}


def queue_backlog() -> dict[str, Any]:
    """Messages waiting in each queue (confops/common/queues.py): a queue whose workers died
    grows while the others stay near 0. Declaring a queue only reads its length (a list's on
    Redis, a folder's on the embedded broker); a passive declare would refuse an empty Redis
    queue, whose list does not exist."""
    with current_app.connection_for_read() as connection:
        channel: Any = connection.default_channel  # typed as StdChannel, without queue_declare
        waiting = {name: channel.queue_declare(queue=name).message_count for name in queues.ALL}
    return {"queues": waiting}


def deployments(now: float) -> list[dict[str, Any]]:
    rows = []
    for deployment in Deployment.objects.all():
        last_success = deployment.last_success_at
        rows.append(
            {
                "name": deployment.name,
                "enabled": deployment.enabled,
                "reachable": deployment.is_reachable,
                # Judged like the deployment_unhealthy rule: heartbeats, not Dagster's flag.
                "unhealthy_daemons": deployment.unhealthy_daemons,
                "failing_code_locations": sorted(deployment.code_location_errors),
                "last_poll_at": deployment.last_poll_at,
                "last_poll_duration_ms": deployment.last_poll_duration_ms,
                "last_success_age_seconds": (
                    round(heartbeat.age_seconds(now, last_success.timestamp()), 1)
                    if last_success
                    else None
                ),
                "consecutive_failures": deployment.consecutive_failures,
                "last_error": deployment.last_error,
                "dagster_version": deployment.dagster_version,
            }
        )
    return rows


def worker_heartbeats(now: float) -> dict[str, float]:
    """Each worker's own heartbeat age (its watcher thread), by host name; none when the cache
    cannot be read (the cache check says why, and the page must stay up to say it)."""
    try:
        ages = heartbeat.read_workers(now)
    except Exception as exc:
        logger.warning("health: worker heartbeats unreadable: %s", redact_error(exc))
        return {}
    return {host: round(heartbeat.age_seconds(now, at), 1) for host, at in sorted(ages.items())}


def readiness() -> list[CheckResult]:
    return [timed("database", database), timed("broker", broker)]


def watcher_warnings(now: datetime) -> list[str]:
    """What the watcher finds stalled, for readiness to report without failing on it: a web
    process is still worth traffic when beat is dead (its pages show the problem, and taking
    it out of the load balancer would hide them). Also gives the watcher a chance to run, so
    the internal alert opens even when beat and every worker are gone; ``check_quietly`` takes
    the watcher's cache lock, so however often probes ask, one check runs per interval.

    Readiness is anonymous: a stalled poller is named without its deployment and a failed
    check without its error (both are in /health/detailed, behind login)."""
    try:
        stalls = checked_stalls(now)
    except Exception:  # readiness names the database itself; never fail on this
        logger.warning("readiness: the watcher could not judge", exc_info=True)
        return ["watcher unavailable"]
    return [public_summary(stall) for stall in stalls]


def checked_stalls(now: datetime) -> list[Stall]:
    """Run the watcher's check if it is due, and what it found; judged afresh only when another
    process ran the check within the interval (its result is not shared)."""
    outcome = watchdog.check_quietly(now)
    return watchdog.stalls_now(now) if outcome.skipped else outcome.stalls


def public_summary(stall: Stall) -> str:
    """Beat's and the workers' summaries hold only an age; a poller's names its deployment."""
    if stall.component.startswith("poller:"):
        return "a deployment is not being polled"
    return stall.summary


def public_readiness(check: CheckResult) -> dict[str, Any]:
    """A check as anonymous probes see it: its state and timing, the error only in the log."""
    if check.error:
        logger.warning("readiness: %s failed: %s", check.name, check.error)
    return {"ok": check.ok, "duration_ms": round(check.duration_ms, 2)}


def watcher_report(now: datetime) -> dict[str, Any]:
    """The stalls the watcher sees now and the internal alert about them, if one is open."""
    stalls = checked_stalls(now)
    alert = watcher.open_alert()
    return {
        "stalls": [{"component": s.component, "summary": s.summary} for s in stalls],
        "alert": {"id": alert.pk, "state": alert.state, "summary": alert.summary}
        if alert
        else None,
    }


def detailed() -> dict[str, Any]:
    now = timezone.now().timestamp()
    checks = [
        *readiness(),
        timed("cache", shared_cache),
        timed("beat", lambda: heartbeat_age(heartbeat.BEAT_KEY, now)),
        timed("worker_heartbeat", lambda: heartbeat_age(heartbeat.WORKER_TASK_KEY, now)),
        timed("workers", workers),
        timed("queues", queue_backlog),
    ]
    deployment_check = CheckResult("deployments", True, 0.0)
    started = time.perf_counter()
    try:
        rows = deployments(now)
    except Exception as exc:  # the database check names the cause; keep the page up
        rows, deployment_check.ok = [], False
        deployment_check.error = redact_error(exc)[:500]
    deployment_check.duration_ms = (time.perf_counter() - started) * 1000
    checks.append(deployment_check)
    watcher = timed("watcher", lambda: watcher_report(timezone.now()))
    supervised = without_output(processes.read_state(settings.DATA_DIR))
    if supervised is not None:
        checks.append(supervised_processes(supervised))
    return {
        "status": "ok" if all(c.ok for c in checks) else "degraded",
        "checks": {c.name: c.as_dict() for c in checks},
        "deployments": rows,
        "worker_heartbeats": worker_heartbeats(now),
        "watcher": watcher.info or {"error": watcher.error},
        **({"processes": supervised} if supervised is not None else {}),
    }


def without_output(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The supervisor's state less each dead process's last lines: a process prints anything
    (a URL with its password in a traceback), so those stay in the supervisor's own log."""
    for process in (state or {}).get("processes", {}).values():
        if process.get("last_exit"):
            process["last_exit"].pop("last_lines", None)
    return state


def supervised_processes(state: dict[str, Any]) -> CheckResult:
    """The demo's supervisor (confops/runtime/processes.py) restarts a dead process; a restart stays
    visible here, and a process down (or the supervisor gone) fails the check."""
    down = [name for name, p in state["processes"].items() if not p["running"]]
    restarts = {name: p["restarts"] for name, p in state["processes"].items() if p["restarts"]}
    error = ""
    if not state["supervisor_alive"]:
        error = "the process supervisor is not running"
    elif down:
        error = f"not running: {', '.join(down)}"
    return CheckResult("processes", not error, 0.0, error=error, info={"restarts": restarts})
