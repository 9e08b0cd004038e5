"""JSON log lines: one object per line with time, level, logger, message and ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests
from urllib3.util import Retry

from confops.common.context import request_id_var
from confops.common.logging import ContextFilter, JsonLineFormatter
from tests.fixtures.http import HttpResponder


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
    from confops.common.logging import TextLineFormatter

    record = logging.LogRecord("confops.test", logging.INFO, __file__, 1, "hello", (), None)
    ContextFilter().filter(record)
    assert "[- -] hello" in TextLineFormatter().format(record)


# --- urllib3 names the paths it requests (a Slack webhook's path is its secret) --------------

SLACK_SECRET = "XyZsecretPathPart0123456789"


@pytest.fixture
def console_output() -> Iterator[io.StringIO]:
    """What the configured console handler writes, at LOG_LEVEL=DEBUG."""
    root = logging.getLogger()
    console = next(h for h in root.handlers if h.name == "console")
    stream, level = io.StringIO(), root.level
    previous = console.setStream(stream)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.setLevel(level)
        console.setStream(previous)


def test_a_debug_log_of_a_webhook_request_does_not_show_its_path(
    console_output: io.StringIO, http_responder: HttpResponder
) -> None:
    url = f"{http_responder.url}/services/T0/B0/{SLACK_SECRET}"
    assert requests.post(url, json={"text": "hi"}, timeout=5).status_code == 200
    lines = console_output.getvalue()
    assert http_responder.requests[0].path.endswith(SLACK_SECRET)  # the request used it
    assert "POST /[redacted] HTTP/1.1" in lines  # urllib3 logged the request
    assert SLACK_SECRET not in lines


def test_a_urllib3_warning_quoting_a_url_shows_scheme_and_host_only(
    console_output: io.StringIO,
) -> None:
    # urllib3.connection's words when a receiver answers with malformed headers.
    logging.getLogger("urllib3.connection").warning(
        "Failed to parse headers (url=%s): %s",
        f"https://hooks.slack.com/services/T0/B0/{SLACK_SECRET}",
        "[MissingHeaderBodySeparatorDefect()], unparsed data: 'x'",
    )
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying (%r) after connection broken by '%r': %s",
        Retry(0),
        OSError("refused"),
        f"/services/T0/B0/{SLACK_SECRET}",
    )
    lines = console_output.getvalue()
    assert "Failed to parse headers (url=https://hooks.slack.com/[redacted])" in lines
    assert "connection broken by 'OSError('refused')': /[redacted]" in lines
    assert SLACK_SECRET not in lines


def test_other_loggers_keep_their_urls() -> None:
    from confops.common.logging import OutgoingUrlFilter

    record = logging.LogRecord(
        "monitoring.polling", logging.WARNING, __file__, 1, "at %s", ("http://h/graphql",), None
    )
    OutgoingUrlFilter().filter(record)
    assert record.getMessage() == "at http://h/graphql"
