"""Slack incoming webhooks, with a local HTTP server standing in for Slack: the Block Kit layout,
and Slack's answers sorted into "try again" and "give up"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alerts.notify import messages
from alerts.notify.transports import ConfigError, DeliveryError, transport_class
from alerts.notify.transports import slack as slack_transport
from tests.alerts.test_messages import FACTS, alert_json, payload
from tests.fixtures.http import HttpResponder


def slack(url: str, **config: Any) -> Any:
    return transport_class("slack").from_channel(config, url)


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every mrkdwn string in the blocks, for asserting what a reader sees."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [field["text"] for field in block.get("fields", [])]
        found += [element["text"] for element in block.get("elements", [])]
    return "\n".join(found)


def test_a_firing_alert_is_laid_out_in_block_kit(http_responder: HttpResponder) -> None:
    http_responder.respond(200, "ok", content_type="text/plain")
    raw = alert_json(7, "elra_conferences", severity="critical")
    message = messages.render("firing", payload("firing", [raw]), 12)

    result = slack(f"{http_responder.url}/services/T0/B0/x").send(message)

    assert result.status_code == 200
    [request] = http_responder.requests
    assert request.path == "/services/T0/B0/x"
    assert request.headers["Content-Type"].startswith("application/json")
    body = json.loads(request.body)
    assert body["text"] == ":red_circle: [CRITICAL] Firing: Run failed on elra_conferences"
    [attachment] = body["attachments"]
    assert attachment["color"] == "#d40e0d"
    blocks = attachment["blocks"]
    assert {b["type"] for b in blocks} <= {"section", "context"}
    shown = texts(blocks)
    assert ":red_circle: *Firing: Run failed* on `elra_conferences`" in shown
    assert "*Severity*\ncritical" in shown and "*Source*\n`elra_conferences`" in shown
    assert "elra_conferences failed: HTTP 503" in shown
    assert "```ConnectionError: HTTP 503 Service Unavailable" in shown
    assert "*Runbook: Scraper failure*\n1. Look" in shown
    assert "<http://localhost:8000/alerts/7/|Acknowledge in confops>" in shown
    assert "<http://localhost:8000/runbooks/scraper-failure/|Runbook: Scraper failure>" in shown
    assert "<http://dagster.local/runs/run-7|Dagster run>" in shown


def test_a_resolved_alert_is_green_with_its_duration(http_responder: HttpResponder) -> None:
    raw = alert_json(7, "elra_conferences", duration_s=1860, resolved_at="2026-11-02T02:31:00Z")
    slack(http_responder.url).send(messages.render("resolved", payload("resolved", [raw])))
    body = http_responder.requests[0].json()
    assert body["text"].startswith(":white_check_mark: [WARNING] Resolved")
    assert body["attachments"][0]["color"] == "#2eb67d"
    assert "Lasted *31 min*." in texts(body["attachments"][0]["blocks"])


def test_a_grouped_storm_stays_within_slack_limits(http_responder: HttpResponder) -> None:
    alerts = [alert_json(i, f"source_{i:03d}") for i in range(500)]
    slack(http_responder.url).send(messages.render("firing", payload("firing", alerts)))
    blocks = http_responder.requests[0].json()["attachments"][0]["blocks"]
    shown = texts(blocks)
    assert "on `source_000`, `source_001`, `source_002` and 497 more" in shown
    assert shown.count("• <http://localhost:8000/alerts/") == 20
    assert "… and 480 more" in shown
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)


def test_mrkdwn_control_characters_are_escaped(http_responder: HttpResponder) -> None:
    raw = alert_json(1, "acl", summary="count <10 & falling <!channel>")
    slack(http_responder.url).send(messages.render("firing", payload("firing", [raw])))
    shown = texts(http_responder.requests[0].json()["attachments"][0]["blocks"])
    assert "count &lt;10 &amp; falling &lt;!channel&gt;" in shown


def test_a_mention_is_added_to_critical_pages_only(http_responder: HttpResponder) -> None:
    transport = slack(http_responder.url, mention="<!here>")
    for severity in ("critical", "warning"):
        raw = alert_json(1, "elra", severity=severity)
        transport.send(messages.render("firing", payload("firing", [raw])))
    first, second = (texts(r.json()["attachments"][0]["blocks"]) for r in http_responder.requests)
    assert first.startswith("<!here> ") and "<!here>" not in second


@pytest.mark.parametrize(
    ("status", "body"),
    [(403, "invalid_token"), (404, "channel_not_found"), (410, "channel_is_archived")],
)
def test_slack_refusals_are_permanent(
    http_responder: HttpResponder, status: int, body: str
) -> None:
    http_responder.respond(status, body, content_type="text/plain")
    with pytest.raises(DeliveryError) as caught:
        slack(http_responder.url).send(messages.render("test", {"channel": {"name": "ops"}}))
    assert caught.value.permanent and caught.value.status_code == status
    assert body in caught.value.reason


def test_rate_limits_and_outages_are_retried(http_responder: HttpResponder) -> None:
    http_responder.respond(429, "rate_limited", headers={"Retry-After": "30"})
    http_responder.respond(503, "upstream down")
    transport = slack(http_responder.url)
    message = messages.render("test", {"channel": {"name": "ops"}})
    with pytest.raises(DeliveryError) as limited:
        transport.send(message)
    assert not limited.value.permanent and limited.value.retry_after == 30
    with pytest.raises(DeliveryError) as down:
        transport.send(message)
    assert not down.value.permanent and down.value.status_code == 503


def test_a_channel_without_a_url_uses_the_default_webhook(
    http_responder: HttpResponder, settings: Any
) -> None:
    settings.SLACK_WEBHOOK_URL = f"{http_responder.url}/default"
    transport_class("slack").parse_config({}, "")  # valid: the default fills in
    slack("").send(messages.render("test", {"channel": {"name": "ops"}}))
    assert http_responder.requests[0].path == "/default"


# Slack markup in a source key, rule name or error (Dagster accepts such asset keys): escaped in
# every text Slack reads, the top-level notification text included, never a ping or a link.
HOSTILE = "<!channel> <http://evil|click>"
ESCAPED = "&lt;!channel&gt; &lt;http://evil|click&gt;"


def every_text(body: dict[str, Any]) -> list[str]:
    """The top-level text and every block's text, as Slack receives them."""
    blocks = body.get("blocks") or [b for a in body.get("attachments", []) for b in a["blocks"]]
    return [body["text"], *texts(blocks).split("\n")]


def assert_inert(body: dict[str, Any]) -> str:
    found = every_text(body)
    for text in found:
        assert "<!channel>" not in text and "<http://evil" not in text, text
    assert ESCAPED in body["text"]
    return "\n".join(found)


def test_markup_in_a_source_key_and_rule_name_is_escaped_everywhere(
    http_responder: HttpResponder,
) -> None:
    raw = alert_json(7, HOSTILE, summary=f"{HOSTILE} failed", error=HOSTILE)
    hostile = payload("firing", [raw])
    hostile["rule"]["name"] = HOSTILE
    hostile["runbook"]["title"] = HOSTILE
    slack(http_responder.url).send(messages.render("firing", hostile, 12))

    shown = assert_inert(http_responder.requests[0].json())
    assert shown.count(ESCAPED) >= 5
    # The links confops makes itself still work.
    assert "<http://localhost:8000/alerts/7/|Acknowledge in confops>" in shown
    assert f"<http://localhost:8000/runbooks/scraper-failure/|Runbook: {ESCAPED}>" in shown


def test_markup_in_a_grouped_message_is_escaped(http_responder: HttpResponder) -> None:
    alerts = [alert_json(1, HOSTILE), alert_json(2, f"{HOSTILE} &")]
    slack(http_responder.url).send(messages.render("firing", payload("firing", alerts)))
    shown = assert_inert(http_responder.requests[0].json())
    assert f"• <http://localhost:8000/alerts/1/|{ESCAPED}>" in shown


def test_a_hostile_run_url_cannot_pick_its_own_link_label(http_responder: HttpResponder) -> None:
    raw = alert_json(7, "acl", run_url="http://dagster.local/runs/x|click here>")
    slack(http_responder.url).send(messages.render("firing", payload("firing", [raw])))
    shown = texts(http_responder.requests[0].json()["attachments"][0]["blocks"])
    assert "<http://dagster.local/runs/x%7Cclick here&gt;|Dagster run>" in shown


def test_a_failing_channel_message_escapes_its_name_and_error(
    http_responder: HttpResponder,
) -> None:
    failing = {
        "channel": {"id": 3, "name": HOSTILE, "kind": "webhook", "url": "http://x/admin/3/"},
        "failures": 5,
        "last_error": f"HTTP 500: {HOSTILE}",
        "severity": "warning",
    }
    slack(http_responder.url).send(messages.render("channel_failing", failing))
    assert_inert(http_responder.requests[0].json())


def test_the_daily_report_escapes_its_text_with_and_without_blocks(
    http_responder: HttpResponder,
) -> None:
    report = {
        "title": HOSTILE,
        "date": "2026-11-02",
        "headline": HOSTILE,
        "url": "http://localhost:8000/reports/2026-11-02/",
        "lines": [f"{HOSTILE} failed"],
    }
    transport = slack(http_responder.url)
    transport.send(messages.render("daily_report", report))
    with_blocks = {
        **report,
        "slack_blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    transport.send(messages.render("daily_report", with_blocks))

    plain, laid_out = (request.json() for request in http_responder.requests)
    shown = assert_inert(plain)
    assert f"• {ESCAPED} failed" in shown
    assert "<http://localhost:8000/reports/2026-11-02/|Full report>" in shown
    assert_inert(laid_out)


def test_mentions_are_chosen_per_severity(http_responder: HttpResponder) -> None:
    transport = slack(
        http_responder.url,
        mention="<!here>",
        mentions={"warning": "<!subteam^S0123> U0456", "info": ""},
    )
    for severity in ("critical", "warning", "info"):
        raw = alert_json(1, "elra", severity=severity)
        transport.send(messages.render("firing", payload("firing", [raw])))
    critical, warning, info = (
        texts(r.json()["attachments"][0]["blocks"]) for r in http_responder.requests
    )
    assert critical.startswith("<!here> ")
    assert warning.startswith("<!subteam^S0123> <@U0456> ")
    assert "<!" not in info.split("\n")[0] and "<@" not in info


def test_a_resolved_message_pings_nobody(http_responder: HttpResponder) -> None:
    transport = slack(http_responder.url, mentions={"critical": "<!channel>"})
    raw = alert_json(1, "elra", severity="critical")
    transport.send(messages.render("resolved", payload("resolved", [raw])))
    assert "<!channel>" not in texts(http_responder.requests[0].json()["attachments"][0]["blocks"])


@pytest.mark.parametrize(
    "mention",
    ["<http://evil|click>", "@here", "<!subteam^S01|ops> <!here>", "<!here>*bold*", "<@U1|x>"],
)
def test_a_mention_that_is_not_a_slack_mention_is_refused(mention: str) -> None:
    with pytest.raises(ConfigError) as caught:
        transport_class("slack").parse_config({"mentions": {"critical": mention}}, "https://x")
    assert "is not a Slack mention" in str(caught.value)


def test_a_stored_single_mention_that_is_not_a_mention_is_escaped_not_refused(
    http_responder: HttpResponder,
) -> None:
    """Channels saved before mentions were checked keep sending; their text pings nobody."""
    transport = slack(http_responder.url, mention="<http://evil|click> <!here>")
    raw = alert_json(1, "elra", severity="critical")
    transport.send(messages.render("firing", payload("firing", [raw])))
    shown = texts(http_responder.requests[0].json()["attachments"][0]["blocks"])
    assert shown.startswith("&lt;http://evil|click&gt; <!here> ")


def test_an_unknown_severity_in_mentions_is_refused() -> None:
    with pytest.raises(ConfigError):
        transport_class("slack").parse_config({"mentions": {"fatal": "<!here>"}}, "https://x")


def test_a_firing_alert_lays_out_its_facts_as_fields() -> None:
    raw = alert_json(7, "elra", **FACTS)
    body = slack_transport.build_payload(messages.render("firing", payload("firing", [raw])))
    blocks = body["attachments"][0]["blocks"]
    fields = [f["text"] for b in blocks[2:] for f in b.get("fields", [])]
    last = messages.moment(FACTS["last_success_at"])
    assert fields == [
        f"*Since*\n{messages.moment(FACTS['since'])}",
        f"*Last success*\n{last} (3 failed runs since)",
        "*Deployment*\nconfradar",
        "*Downstream*\nconferences, website_export and 2 more",
    ]


def test_a_grouped_message_gives_each_member_a_facts_line() -> None:
    alerts = [alert_json(1, "elra", **FACTS), alert_json(2, "acl")]
    body = slack_transport.build_payload(messages.render("firing", payload("firing", alerts)))
    shown = texts(body["attachments"][0]["blocks"])
    assert "3 failed runs · deployment confradar · downstream conferences" in shown


def test_a_row_stored_before_the_facts_has_no_fact_fields() -> None:
    body = slack_transport.build_payload(
        messages.render("firing", payload("firing", [alert_json(7, "elra")]))
    )
    shown = texts(body["attachments"][0]["blocks"])
    assert "*Since*" not in shown and "*Deployment*" not in shown


def test_markup_in_downstream_keys_and_the_deployment_is_escaped() -> None:
    facts = {**FACTS, "downstream": [HOSTILE], "deployment": HOSTILE}
    for alerts in ([alert_json(1, "elra", **facts)], [alert_json(1, "a", **facts)] * 2):
        body = slack_transport.build_payload(messages.render("firing", payload("firing", alerts)))
        shown = assert_inert(body | {"text": ESCAPED})
        assert f"{ESCAPED} and 2 more" in shown


def test_runbook_steps_reach_slack_as_escaped_plain_text_with_absolute_links() -> None:
    raw = payload("firing", [alert_json(1, "elra")])
    raw["runbook"]["steps"] = ["See [Volume drop](/runbooks/volume-drop/) & <!channel>"]
    shown = texts(
        slack_transport.build_payload(messages.render("firing", raw))["attachments"][0]["blocks"]
    )
    assert (
        "1. See Volume drop (http://localhost:8000/runbooks/volume-drop/) &amp; &lt;!channel&gt;"
        in shown
    )


def test_a_storm_with_facts_still_lists_twenty_and_counts_the_rest() -> None:
    alerts = [alert_json(i, f"source_{i:03d}", **FACTS) for i in range(500)]
    body = slack_transport.build_payload(messages.render("firing", payload("firing", alerts)))
    shown = texts(body["attachments"][0]["blocks"])
    assert "… and 480 more" in shown and shown.count("/alerts/") == 21
