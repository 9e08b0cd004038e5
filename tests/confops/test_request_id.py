"""Every response carries a request id: the caller's when it is sane, a new one otherwise."""

from __future__ import annotations

import logging

import pytest
from django.test import Client


def test_it_returns_the_incoming_request_id(client: Client) -> None:
    response = client.get("/health", headers={"X-Request-ID": "edge-7f3a.42"})
    assert response["X-Request-ID"] == "edge-7f3a.42"


def test_it_makes_a_request_id_when_none_is_sent(client: Client) -> None:
    first = client.get("/health")["X-Request-ID"]
    second = client.get("/health")["X-Request-ID"]
    assert len(first) == 32 and first != second


@pytest.mark.parametrize("forged", ['abc"}\n{"level": "ERROR', "x" * 129, "<script>"])
def test_it_replaces_an_id_that_could_forge_log_lines(client: Client, forged: str) -> None:
    response = client.get("/health", headers={"X-Request-ID": forged})
    assert response["X-Request-ID"] != forged
    assert len(response["X-Request-ID"]) == 32


def test_log_lines_written_during_a_request_carry_its_id(
    admin_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from confops.common.logging import ContextFilter

    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        admin_client.get("/no-such-page", headers={"X-Request-ID": "trace-123"})
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "Django logs a warning for a 404"
    assert records[0].request_id == "trace-123"  # type: ignore[attr-defined]
