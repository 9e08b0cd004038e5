"""The fake Slack Web API (tests/fixtures/slack_api.py) answers slack_sdk as Slack does."""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fixtures.slack_api import FakeSlack


def client(fake: FakeSlack, token: str = "xoxb-test") -> WebClient:  # noqa: S107 - a test token
    return WebClient(token=token, base_url=fake.url, timeout=5)


def test_it_keeps_a_posted_message_and_its_latest_edit(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    posted = web.chat_postMessage(channel="C1", text="firing", blocks=[{"type": "divider"}])
    web.chat_postMessage(channel="C1", text="reminder", thread_ts=posted["ts"])
    web.chat_update(channel="C1", ts=posted["ts"], text="acknowledged", blocks=[])

    root = fake_slack.message("C1", posted["ts"])
    assert (root.text, root.blocks, root.edits) == ("acknowledged", [], 1)
    assert [m.text for m in fake_slack.replies("C1", posted["ts"])] == ["reminder"]
    assert [m.ts for m in fake_slack.roots("C1")] == [posted["ts"]]
    assert fake_slack.calls_to("chat.postMessage")[0].token == "xoxb-test"


def test_it_answers_message_not_found_for_a_deleted_root(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    ts = web.chat_postMessage(channel="C1", text="firing")["ts"]
    fake_slack.deleted("C1", ts)
    with pytest.raises(SlackApiError) as failed:
        web.chat_update(channel="C1", ts=ts, text="resolved")
    assert failed.value.response["error"] == "message_not_found"


def test_it_rate_limits_with_retry_after_then_answers(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limit(retry_after=7)
    web = client(fake_slack)
    with pytest.raises(SlackApiError) as failed:
        web.auth_test()
    assert failed.value.response.status_code == 429
    assert failed.value.response.headers["Retry-After"] == "7"
    assert web.auth_test()["ok"]


def test_it_refuses_unknown_tokens_and_channels(fake_slack: FakeSlack) -> None:
    fake_slack.valid_tokens = {"xoxb-good"}
    fake_slack.channels = {"C1"}
    with pytest.raises(SlackApiError, match="invalid_auth"):
        client(fake_slack, "xoxb-bad").auth_test()
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client(fake_slack, "xoxb-good").chat_postMessage(channel="C2", text="x")
    fake_slack.fail_with("not_in_channel")
    with pytest.raises(SlackApiError, match="not_in_channel"):
        client(fake_slack, "xoxb-good").chat_postMessage(channel="C1", text="x")


def test_it_fails_at_the_seeded_rate(fake_slack: FakeSlack) -> None:
    fake_slack.fail_randomly(0.5, seed=3)
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(client(fake_slack).auth_test()["ok"])
        except SlackApiError:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35


def test_it_looks_up_users_opens_socket_mode_and_records_responses(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.users["U1"] = {"email": "jane@example.com", "real_name": "Jane Doe"}
    web = client(fake_slack)
    assert web.users_info(user="U1")["user"]["profile"]["email"] == "jane@example.com"
    fake_slack.socket_url = "wss://example.invalid/socket"
    assert client(fake_slack, "xapp-1").apps_connections_open(app_token="xapp-1")["url"] == (
        "wss://example.invalid/socket"
    )
    web.chat_postEphemeral(channel="C1", user="U1", text="only you")
    request = urllib.request.Request(  # noqa: S310 - the fake's loopback URL
        fake_slack.response_url("a1"),
        data=json.dumps({"text": "done", "response_type": "ephemeral"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass
    assert fake_slack.responses["a1"] == [{"text": "done", "response_type": "ephemeral"}]
    assert fake_slack.ephemerals[0]["text"] == "only you"
