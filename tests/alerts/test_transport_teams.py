"""Microsoft Teams through a Workflows webhook: the Adaptive Card a local receiver gets (answering
202 as Power Automate does, then 429 with Retry-After, then 400), escaping of hostile texts, and
the webhook URL kept secret: refused when it is a retired connector's, masked, never in errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from alerts.notify import links, messages
from alerts.notify.transports import ConfigError, DeliveryError, transport_class
from alerts.notify.transports import teams as teams_transport
from tests.alerts import factories as f
from tests.alerts.test_messages import FACTS, alert_json, payload
from tests.fixtures.http import HttpResponder

PATH_SECRET = "sig=WorkflowSignature0123456789"
INCIDENT = {"id": 12, "state": "open", "url": "http://localhost:8000/incidents/12/"}


def teams(url: str) -> Any:
    return transport_class("teams").from_channel({}, f"{url}/workflows/1/invoke?{PATH_SECRET}")


def card_of(responder: HttpResponder) -> dict[str, Any]:
    [request] = responder.requests
    body = request.json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card: dict[str, Any] = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    return card


def firing(**fields: Any) -> messages.Message:
    raw = alert_json(7, "elra_conferences", severity="critical", **FACTS, **fields)
    at = timezone.now().replace(microsecond=0).isoformat()
    return messages.render("firing", payload("firing", [raw], incident=INCIDENT, at=at), 31)


def texts(card: dict[str, Any]) -> str:
    return json.dumps(card["body"], ensure_ascii=False)


def test_a_firing_alert_is_an_adaptive_card_with_facts_and_buttons(
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(202, "")
    result = teams(http_responder.url).send(firing())
    assert result.status_code == 202
    card = card_of(http_responder)
    header = card["body"][0]
    assert header["text"] == "Firing: Run failed" and header["color"] == "attention"
    assert "elra\\_conferences" in card["body"][1]["text"]
    [facts] = [block for block in card["body"] if block["type"] == "FactSet"]
    titles = [fact["title"] for fact in facts["facts"]]
    assert titles == ["Since", "Last success", "Failed runs", "Deployment", "Downstream"]
    assert "ConnectionError: HTTP 503" in texts(card)
    assert "1. Look" in texts(card)  # the runbook's first steps
    actions = {a["title"]: a["url"] for a in card["actions"]}
    assert list(actions) == ["Acknowledge", "Open in confops", "Runbook", "Dagster run"]
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])
    assert actions["Open in confops"] == "http://localhost:8000/incidents/12/"
    assert actions["Runbook"] == "http://localhost:8000/runbooks/scraper-failure/"
    assert actions["Dagster run"] == "http://dagster.local/runs/run-7"
    prefix = "http://localhost:8000/integrations/ack/"
    assert actions["Acknowledge"].startswith(prefix)
    assert links.incident_of_ack_token(actions["Acknowledge"].removeprefix(prefix)) == 12
    assert (
        actions["Acknowledge"] == firing().ack_url
    )  # signed as of the row: a resend says the same


def test_a_resolved_alert_is_green_and_offers_no_acknowledge(
    http_responder: HttpResponder,
) -> None:
    raw = alert_json(7, "elra_conferences", resolved_at="2026-11-02T03:00:00+00:00", incident_s=600)
    resolved = {**INCIDENT, "state": "resolved"}
    message = messages.render("resolved", payload("resolved", [raw], incident=resolved))
    teams(http_responder.url).send(message)
    card = card_of(http_responder)
    assert card["body"][0]["color"] == "good"
    assert [a["title"] for a in card["actions"]] == ["Open in confops", "Runbook", "Dagster run"]
    [facts] = [block for block in card["body"] if block["type"] == "FactSet"]
    assert facts["facts"] == [{"title": "Lasted", "value": "10 min"}]


def test_an_acknowledged_incident_offers_no_acknowledge(http_responder: HttpResponder) -> None:
    raw = alert_json(7, "elra_conferences")
    acked = {**INCIDENT, "state": "acknowledged"}
    teams(http_responder.url).send(
        messages.render("reminder", payload("reminder", [raw], incident=acked))
    )
    assert "Acknowledge" not in [a["title"] for a in card_of(http_responder)["actions"]]


def test_markdown_and_date_functions_in_a_hostile_source_key_are_escaped(
    http_responder: HttpResponder,
) -> None:
    hostile = "**x** [click](http://evil.example) {{DATE(2017-02-14T06:08:39Z, SHORT)}}"
    message = messages.render(
        "firing",
        payload(
            "firing",
            [alert_json(7, hostile, summary=f"{hostile} failed", error="# heading\n- item")],
            rule={"id": 1, "name": "_rule_", "kind": "run_failed"},
        ),
    )
    teams(http_responder.url).send(message)
    body = texts(card_of(http_responder))
    assert "[click](http" not in body and "**x**" not in body and "{{" not in body
    assert "\\\\[click\\\\]\\\\(http://evil.example\\\\)" in body  # JSON of \[click\]\(...\)
    assert "\\\\# heading\\n\\\\- item" in body
    assert card_of(http_responder)["body"][0]["text"] == "Firing: \\_rule\\_"


def test_a_grouped_message_lists_each_source_escaped(http_responder: HttpResponder) -> None:
    alerts = [alert_json(i, f"source_{i:03d}") for i in range(25)]
    teams(http_responder.url).send(messages.render("firing", payload("firing", alerts)))
    body = texts(card_of(http_responder))
    assert "**source\\\\_000**" in body and "and 5 more" in body


def test_a_test_message_is_a_simple_card(http_responder: HttpResponder) -> None:
    teams(http_responder.url).send(messages.render("test", {"channel": {"name": "ops_team"}}))
    card = card_of(http_responder)
    assert card["body"][0]["weight"] == "Bolder" and card["actions"] == []
    assert "ops\\\\_team" in texts(card)


def test_throttling_is_retried_after_what_teams_asks_and_a_refusal_is_permanent(
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(429, "", headers={"Retry-After": "30"})
    http_responder.respond(400, '{"error":{"code":"InvalidRequestContent"}}')
    channel = teams(http_responder.url)
    with pytest.raises(DeliveryError) as throttled:
        channel.send(firing())
    assert not throttled.value.permanent and throttled.value.retry_after == 30
    with pytest.raises(DeliveryError) as refused:
        channel.send(firing())
    assert refused.value.permanent and refused.value.status_code == 400
    for error in (throttled.value, refused.value):
        assert PATH_SECRET not in str(error)


def test_an_unreachable_workflow_keeps_its_url_out_of_the_error() -> None:
    with pytest.raises(DeliveryError) as failed:
        teams("http://127.0.0.1:9").send(firing())
    assert not failed.value.permanent and PATH_SECRET not in str(failed.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://contoso.webhook.office.com/webhookb2/0000@1111/IncomingWebhook/2222/3333",
        "https://outlook.office.com/webhook/0000/IncomingWebhook/1111",
    ],
)
def test_a_retired_connector_url_is_refused_with_what_to_do(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        transport_class("teams").parse_config({}, url)
    assert "retired" in refused.value.messages["secret"]
    assert "Workflows" in refused.value.messages["secret"]


def test_the_workflow_url_is_required_and_a_workflows_url_is_taken() -> None:
    with pytest.raises(ConfigError) as missing:
        transport_class("teams").parse_config({}, "")
    assert "Workflows webhook URL" in missing.value.messages["secret"]
    transport_class("teams").parse_config({}, teams_transport.TeamsTransport.example_secret)


@pytest.mark.django_db
def test_the_admin_shows_the_workflow_url_masked(admin_client: Client) -> None:
    channel = f.channel("teams", kind="teams", secret=f"https://flow.example/invoke?{PATH_SECRET}")
    page = admin_client.get(f"/admin/alerts/channel/{channel.pk}/change/").content.decode()
    assert PATH_SECRET not in page and "••••" in page


def test_a_tampered_ack_token_is_refused() -> None:
    token = links.ack_token(12, timezone.now())
    with pytest.raises(signing.BadSignature):
        links.incident_of_ack_token(token[:-1] + ("A" if token[-1] != "A" else "B"))
