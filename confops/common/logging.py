"""JSON log lines with request and task ids, so one request can be followed across processes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from confops.common.context import request_id_var
from confops.common.secrets import REDACTED_PATH, redact_text


def current_task_id() -> str | None:
    """The id of the Celery task this thread is running, if any."""
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a hard dependency
        return None
    if not current_task:  # a proxy: falsy outside a task
        return None
    return current_task.request.id


class ContextFilter(logging.Filter):
    """Puts ``request_id`` and ``task_id`` on every record (None when absent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "task_id"):
            record.task_id = current_task_id()
        return True


class OutgoingUrlFilter(logging.Filter):
    """Cuts the URLs and paths urllib3 puts in its records to scheme and host.

    urllib3 names every request's path at DEBUG (``"POST /services/T/B/<secret> HTTP/1.1"``) and
    a full URL in some warnings (a receiver's malformed headers, a retry); the path of a Slack
    webhook or a dead man's switch is its secret, and LOG_LEVEL=DEBUG must not print it. A
    handler's filter, as logger filters do not apply to child loggers' records.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.partition(".")[0] == "urllib3" and not getattr(record, "redacted", False):
            if isinstance(record.args, tuple):  # a bare path is no URL for redact_text to find
                record.args = tuple(REDACTED_PATH if is_path(a) else a for a in record.args)
            record.msg, record.args = redact_text(record.getMessage()), ()
            record.redacted = True
        return True


def is_path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("/")


class TextLineFormatter(logging.Formatter):
    """Readable lines for development; absent ids print as '-'."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(ids)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [getattr(record, key, None) for key in ("request_id", "task_id")]
        record.ids = " ".join(value or "-" for value in ids)
        return super().format(record)


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id and task_id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "reserved_attrs",
            [*RESERVED_ATTRS, "taskName", "request_id", "task_id", "ids", "redacted"],
        )
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        for key in ("request_id", "task_id"):
            value = getattr(record, key, None)
            if value:
                log_data[key] = value
        super().add_fields(log_data, record, message_dict)
        log_data.pop("msg", None)
