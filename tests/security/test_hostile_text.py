"""Text that users and Dagster wrote (a source key, a summary, a rule name) reaches Slack,
PagerDuty, Teams and the Apprise services as typed: it pings no one, makes no link, runs no
script and calls no Adaptive Card function. Each kind sends one hostile message to its local
fake receiver, and the assertions read what the receiver recorded. On the portal's pages a long
name made to wrap at its separators (``|breakable``) is escaped before its <wbr> are added."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.template import Context, Template
from django.utils import timezone

from alerts.notify import messages
from alerts.notify.thread import Thread
from alerts.notify.transports.apprise_kinds import AppriseTransport
from alerts.notify.transports.pagerduty import PagerDutyTransport
from alerts.notify.transports.slack_app import SlackAppTransport
from alerts.notify.transports.teams import TeamsTransport
from confops.common.markup import breakable_html
from tests.alerts import factories as f
from tests.alerts.test_messages import alert_json, payload
from tests.fixtures.http import HttpResponder
from tests.fixtures.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fixtures.personas import OTTO, logged_in, make_user
from tests.fixtures.slack_api import FakeSlack

pytestmark = pytest.mark.django_db

PING = "<!channel> <@U0BOSS> <!subteam^S0ALL>"
LINK = "[x](http://evil.example) <http://evil.example|click>"
SCRIPT = "<script>alert(1)</script>"
HOSTILE = f"{PING} *bold* {SCRIPT} {LINK} {{{{DATE(2017-02-14T06:08:39Z, SHORT)}}}}"


def hostile_message(event: str = "firing") -> messages.Message:
    """One incident message whose source key, summary, error and rule name are all hostile."""
    raw = alert_json(7, HOSTILE, summary=f"{HOSTILE} failed", error=f"{HOSTILE}\n# heading")
    body = payload(
        event,
        [raw],
        rule={"id": 1, "name": f"rule {HOSTILE}", "kind": "run_failed"},
        incident={"id": 5, "title": f"Run failed on {HOSTILE}", "state": "open", "sources": 1},
    )
    message = messages.render(event, body, 40)
    return replace(message, thread=Thread())


def test_slack_app_blocks_ping_no_one_and_link_nothing(fake_slack: FakeSlack) -> None:
    SlackAppTransport.from_channel({"channel": "C0OPS"}, "xoxb-0000-test").send(hostile_message())
    [root] = fake_slack.roots("C0OPS")
    shown = root.all_text()
    for hostile in ("<!channel>", "<@U0BOSS>", "<!subteam", "<http://evil", "<script>"):
        assert hostile not in shown, hostile
    assert "&lt;!channel&gt;" in shown and "&lt;script&gt;" in shown  # shown, as typed


def test_pagerduty_gets_the_text_plain_as_typed(fake_pagerduty: FakePagerDuty) -> None:
    PagerDutyTransport.from_channel({}, ROUTING_KEY).send(hostile_message())
    [event] = fake_pagerduty.events
    summary = event["payload"]["summary"]
    assert HOSTILE in summary  # PagerDuty shows plain text: no escaping to undo
    assert len(summary) <= 1024
    assert not any("evil.example" in link["href"] for link in event.get("links", []))


def test_a_teams_card_shows_markdown_and_date_functions_as_typed(
    http_responder: HttpResponder,
) -> None:
    url = f"{http_responder.url}/workflows/1/invoke?sig=WorkflowSignature0123456789"
    TeamsTransport.from_channel({}, url).send(hostile_message())
    [request] = http_responder.requests
    card = request.json()["attachments"][0]["content"]
    shown = json.dumps(card["body"], ensure_ascii=False)
    assert "{{" not in shown and "[x](http" not in shown and "*bold*" not in shown
    assert "\\\\*bold\\\\*" in shown  # JSON of \*bold\*: Teams shows *bold*
    for action in card.get("actions", []):
        assert "evil.example" not in action.get("url", "")


def test_an_apprise_body_is_the_plain_text_as_typed(http_responder: HttpResponder) -> None:
    host = http_responder.url.removeprefix("http://")
    AppriseTransport.from_channel({}, f"json://{host}/hook").send(hostile_message())
    [request] = http_responder.requests
    body: dict[str, Any] = request.json()
    assert HOSTILE in body["message"] and body["title"].startswith(("Firing", "["))


ATTRIBUTE_BREAKOUT = "x\"'><img src=x onerror=alert(1)>_a/b.c-d"


def tags(html: str) -> set[str]:
    return set(re.findall(r"<[^>]*>", html))


def test_a_name_made_to_wrap_is_escaped_before_its_breaks_are_added() -> None:
    shown = Template("{% load markup %}{{ name|breakable }}").render(
        Context({"name": f"{HOSTILE} {ATTRIBUTE_BREAKOUT}"})
    )
    assert tags(shown) == {"<wbr>"}  # the only markup is the breaks
    assert "&lt;script&gt;" in shown and "&lt;img src=x" in shown and "&quot;&#x27;&gt;" in shown
    assert "&amp;lt;" not in shown  # escaped once


def test_a_long_name_may_wrap_after_each_separator() -> None:
    assert breakable_html("retail/catalog/weekly_summary.v2-eu") == (
        "retail/<wbr>catalog/<wbr>weekly_<wbr>summary.<wbr>v2-<wbr>eu"
    )
    assert breakable_html("elra_conferences") == "elra_<wbr>conferences"
    assert breakable_html("plain") == "plain"


def test_a_hostile_source_key_is_shown_as_typed_in_the_grid_timeline_and_source_page() -> None:
    now = timezone.now()
    hostile = f.source(f"{SCRIPT}_{ATTRIBUTE_BREAKOUT}", f.deployment())
    f.run(hostile, now - timedelta(hours=1), ok=False)
    hostile.slug = "hostile-key"  # the page's address is a slug; the key shown is not
    hostile.save(update_fields=["slug"])
    client = logged_in(make_user(OTTO))
    for url in ("/", f"/sources/{hostile.slug}/"):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "<img src=x" not in html, url
        assert "&lt;/<wbr>script&gt;_<wbr>x&quot;" in html, url  # escaped, then made to wrap
