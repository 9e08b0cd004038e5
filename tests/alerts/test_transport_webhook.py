"""The generic JSON webhook: the versioned payload a receiver gets, and its HMAC signature checked
the way docs/notifications.md tells receivers to check it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from alerts.notify import messages
from alerts.notify.transports import ConfigError, DeliveryError, transport_class
from alerts.notify.transports import webhook as webhook_transport
from tests.alerts.test_messages import FACTS, alert_json, payload
from tests.fixtures.http import HttpResponder, RecordedRequest


def webhook(url: str, secret: str = "", **config: Any) -> Any:
    return transport_class("webhook").from_channel({"url": url, **config}, secret)


def verify(request: RecordedRequest, secret: str, tolerance_s: float = 300) -> bool:
    """The receiver's side, as documented: recompute from the raw body, compare in constant
    time, refuse old timestamps."""
    timestamp = request.headers["X-Confops-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    signed = timestamp.encode() + b"." + request.body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["X-Confops-Signature"])


def test_the_payload_is_versioned_and_complete(http_responder: HttpResponder) -> None:
    raw = alert_json(7, "elra_conferences", severity="critical")
    message = messages.render("firing", payload("firing", [raw]), 31)
    webhook(f"{http_responder.url}/hook", headers={"X-Team": "data"}).send(message)

    [request] = http_responder.requests
    assert request.headers["X-Confops-Event"] == "firing"
    assert request.headers["X-Confops-Delivery"] == "31"
    assert request.headers["X-Team"] == "data"
    assert "X-Confops-Signature" not in request.headers
    body = json.loads(request.body)
    assert set(body) == {
        "version",
        "id",
        "event",
        "severity",
        "title",
        "text",
        "rule",
        "sources",
        "alerts",
        "runbook",
        "created_at",
        "data",
    }
    assert body["version"] == 1 and body["id"] == 31 and body["event"] == "firing"
    assert body["severity"] == "critical"
    assert body["title"] == "[CRITICAL] Firing: Run failed on elra_conferences"
    assert body["rule"] == {"id": 1, "name": "Run failed", "kind": "run_failed"}
    assert body["sources"] == ["elra_conferences"]
    [alert] = body["alerts"]
    assert alert["url"] == "http://localhost:8000/alerts/7/"
    assert alert["error"].startswith("ConnectionError: HTTP 503")
    assert alert["run_url"] == "http://dagster.local/runs/run-7"
    assert body["runbook"] == {
        "title": "Scraper failure",
        "url": "http://localhost:8000/runbooks/scraper-failure/",
        "steps": ["Look"],
    }
    assert body["data"] is None


def test_a_grouped_payload_carries_every_alert(http_responder: HttpResponder) -> None:
    alerts = [alert_json(i, f"source_{i:03d}") for i in range(500)]
    webhook(http_responder.url).send(messages.render("firing", payload("firing", alerts)))
    body = http_responder.requests[0].json()
    assert len(body["alerts"]) == 500 and len(body["sources"]) == 500


def test_a_signed_request_verifies_with_the_documented_recipe(
    http_responder: HttpResponder,
) -> None:
    secret = "whsec-shared-with-the-receiver"
    message = messages.render("firing", payload("firing", [alert_json(1, "elra_conferences")]))
    webhook(http_responder.url, secret).send(message)
    request = http_responder.requests[0]
    assert request.headers["X-Confops-Signature"].startswith("v1=")
    assert verify(request, secret)
    assert not verify(request, "another-secret")
    tampered = RecordedRequest(
        request.method, request.path, request.headers, request.body.replace(b"elra", b"acl")
    )
    assert not verify(tampered, secret)


def test_non_alert_events_carry_their_data(http_responder: HttpResponder) -> None:
    data = {"channel": {"name": "ops", "kind": "webhook"}, "requested_by": "ana"}
    webhook(http_responder.url).send(messages.render("test", data))
    body = http_responder.requests[0].json()
    assert body["event"] == "test" and body["alerts"] == [] and body["data"] == data
    assert "ana" in body["text"]


def test_webhook_config_is_validated() -> None:
    transport = transport_class("webhook")
    with pytest.raises(ConfigError, match="url: is required"):
        transport.parse_config({})
    with pytest.raises(ConfigError, match="url: must be an http"):
        transport.parse_config({"url": "ftp://example.com/x"})
    with pytest.raises(ConfigError, match="X-Confops-Signature are set by confops"):
        transport.parse_config(
            {"url": "https://example.com", "headers": {"X-Confops-Signature": "x"}}
        )


def test_client_errors_are_permanent_and_server_errors_are_not(
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(400, '{"error": "bad payload"}')
    http_responder.respond(502, "bad gateway")
    http_responder.respond(301, "", headers={"Location": "https://elsewhere.example.com"})
    transport = webhook(http_responder.url)
    message = messages.render("test", {"channel": {"name": "ops"}})
    outcomes = []
    for _ in range(3):
        with pytest.raises(DeliveryError) as caught:
            transport.send(message)
        outcomes.append((caught.value.status_code, caught.value.permanent))
    assert outcomes == [(400, True), (502, False), (301, True)]


def test_a_receiver_that_hangs_times_out_and_is_retried(
    http_responder: HttpResponder, settings: Any
) -> None:
    settings.NOTIFICATION_HTTP_TIMEOUT_SECONDS = 0.2
    http_responder.respond(200, "{}", delay_s=0.5)
    with pytest.raises(DeliveryError) as caught:
        webhook(http_responder.url).send(messages.render("test", {"channel": {"name": "o"}}))
    assert not caught.value.permanent and "timed out" in caught.value.reason


def test_each_alert_carries_its_facts_as_json() -> None:
    raw = alert_json(7, "elra", **FACTS)
    body = webhook_transport.build_payload(messages.render("firing", payload("firing", [raw])))
    [alert] = body["alerts"]
    assert {key: alert[key] for key in FACTS} == FACTS


def test_a_row_stored_before_the_facts_keeps_its_fields_and_gets_empty_facts() -> None:
    raw = alert_json(7, "elra")
    body = webhook_transport.build_payload(messages.render("firing", payload("firing", [raw])))
    [alert] = body["alerts"]
    assert alert["summary"] == raw["summary"] and alert["run_url"] == raw["run_url"]
    assert alert["since"] is None and alert["failed_runs"] is None
    assert alert["downstream"] == [] and alert["deployment"] is None
