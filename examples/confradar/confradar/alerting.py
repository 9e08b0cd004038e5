"""Dagster's own failure alerting for ConfRadar: a run-failure sensor that POSTs to a webhook.

This is the baseline an external ops portal is compared against, so it stamps its times
carefully: ``detected_at`` when the sensor starts handling the failure and ``sent_at``
immediately before the HTTP request leaves (both epoch seconds, float), next to the run's own
failure time (``failure_event``), so alert latency can be measured end to end.
"""

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

WEBHOOK_ENV = "CONFRADAR_FAILURE_WEBHOOK_URL"
WEBHOOK_TIMEOUT_S = 5.0
SENSOR_NAME = "crawl_failure_sensor"
INTERVAL_ENV = "CONFRADAR_FAILURE_SENSOR_INTERVAL_SECONDS"
# Dagster's own default for sensors; tests set 5 s so they do not wait for ticks.
DEFAULT_INTERVAL_S = 30


def sensor_interval_seconds() -> int:
    """The sensor's minimum interval from the environment, at least 1 s."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    try:
        return max(int(raw), 1) if raw else DEFAULT_INTERVAL_S
    except ValueError:
        raise ValueError(f"{INTERVAL_ENV}={raw!r}: give whole seconds") from None


def user_error_message(error: Any) -> str:
    """The user's exception text from a SerializableErrorInfo: Dagster wraps it in ``cause``."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return str(getattr(error, "message", "") or "").strip()


def build_failure_payload(
    *,
    run_id: str,
    job_name: str,
    error: str,
    failed_steps: Sequence[str] = (),
    step_errors: Mapping[str, str] | None = None,
    failure_event: float | None = None,
    run_start_time: float | None = None,
    detected_at: float | None = None,
    tags: Mapping[str, str] | None = None,
    run_failure_message: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a failure alert (``sent_at`` is added by :func:`post_json`)."""
    return {
        "event": "run_failure",
        "sensor": SENSOR_NAME,
        "run_id": run_id,
        "job_name": job_name,
        "status": "FAILURE",
        "error": error,
        "run_failure_message": run_failure_message,
        "failed_steps": list(failed_steps),
        "step_errors": dict(step_errors or {}),
        "failure_event": failure_event,
        "run_start_time": run_start_time,
        "detected_at": detected_at if detected_at is not None else time.time(),
        "tags": dict(tags or {}),
    }


def post_json(
    url: str, payload: Mapping[str, Any], timeout: float = WEBHOOK_TIMEOUT_S
) -> tuple[int, dict[str, Any]]:
    """POST ``payload`` plus ``sent_at`` (stamped just before sending); return status and body."""
    body = dict(payload)
    body["sent_at"] = time.time()
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the operator configures the webhook URL
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "confradar-failure-sensor"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return int(response.status), body


def _failure_event_time(context: dg.RunFailureSensorContext) -> float | None:
    """Epoch seconds of the run's RUN_FAILURE event, read from the event log."""
    try:
        records = context.instance.get_records_for_run(
            run_id=context.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
    except Exception:  # best effort: the alert matters more than its timestamp
        return None
    return float(records[-1].event_log_entry.timestamp) if records else None


def _run_start_time(context: dg.RunFailureSensorContext) -> float | None:
    try:
        record = context.instance.get_run_record_by_id(context.dagster_run.run_id)
    except Exception:
        return None
    return getattr(record, "start_time", None) if record else None


def payload_from_context(
    context: dg.RunFailureSensorContext, detected_at: float | None = None
) -> dict[str, Any]:
    """Collect run id, job, failed steps and their user errors from a sensor context."""
    detected_at = time.time() if detected_at is None else detected_at
    run = context.dagster_run
    step_errors: dict[str, str] = {}
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        step_errors[event.step_key or "?"] = user_error_message(error)
    run_message = context.failure_event.message or ""
    first_error = next(iter(step_errors.values()), "") or run_message
    return build_failure_payload(
        run_id=run.run_id,
        job_name=run.job_name,
        error=first_error,
        failed_steps=list(step_errors),
        step_errors=step_errors,
        failure_event=_failure_event_time(context),
        run_start_time=_run_start_time(context),
        detected_at=detected_at,
        tags=dict(run.tags),
        run_failure_message=run_message,
    )


def notify_failure(context: dg.RunFailureSensorContext) -> dict[str, Any] | None:
    """Send the alert if a webhook is configured; return what was sent (None if nothing)."""
    detected_at = time.time()
    payload = payload_from_context(context, detected_at)
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        context.log.info(
            f"run {payload['run_id']} of {payload['job_name']} failed "
            f"(steps {payload['failed_steps']}): {payload['error']}; "
            f"{WEBHOOK_ENV} is unset, so no alert was sent"
        )
        return None
    try:
        status, sent = post_json(url, payload)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # Logged, not raised: a failing tick would re-send every alert of the batch later.
        context.log.error(f"failure alert for run {payload['run_id']} not delivered: {exc}")
        return None
    context.log.info(
        f"failure alert for run {sent['run_id']} sent at {sent['sent_at']:.3f} "
        f"(HTTP {status}, {sent['sent_at'] - detected_at:.3f}s after detection)"
    )
    return sent


@dg.run_failure_sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Dagster's own alerting: POSTs a JSON alert for every failed run of this code location "
        f"to ${WEBHOOK_ENV} (just logs when it is unset)."
    ),
)
def crawl_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    notify_failure(context)
