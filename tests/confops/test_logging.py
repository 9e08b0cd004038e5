"""JSON log lines: one object per line with time, level, logger, message and ids."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from confops.context import request_id_var
from confops.logging import ContextFilter, JsonLineFormatter


def format_record(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("confops.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    ContextFilter().filter(record)
    line = JsonLineFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_a_line_has_the_documented_fields() -> None:
    line = format_record("poll of %s failed", "confradar")
    assert line["level"] == "WARNING"
    assert line["logger"] == "confops.test"
    assert line["message"] == "poll of confradar failed"
    assert datetime.fromisoformat(str(line["time"])).utcoffset() is not None
    assert "request_id" not in line and "task_id" not in line


def test_a_line_carries_the_current_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        line = format_record("hello")
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-42"


def test_extra_fields_and_multiline_messages_stay_on_one_line() -> None:
    line = format_record("first\nsecond", deployment=7)
    assert line["message"] == "first\nsecond"
    assert line["deployment"] == 7


def test_exceptions_are_included() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "confops.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    parsed = json.loads(JsonLineFormatter().format(record))
    assert "ValueError: boom" in parsed["exc_info"]


def test_text_lines_show_a_dash_for_absent_ids() -> None:
    from confops.logging import TextLineFormatter

    record = logging.LogRecord("confops.test", logging.INFO, __file__, 1, "hello", (), None)
    ContextFilter().filter(record)
    assert "[- -] hello" in TextLineFormatter().format(record)
