"""The one home of redaction: what an error text or a URL keeps once it is safe to show."""

from __future__ import annotations

import pytest
import requests

from confops.common.secrets import (
    MASK,
    mask_keys,
    redact_error,
    redact_text,
    redact_url,
    restore_masked,
    secret_strings,
    without_userinfo,
)

SLACK_SECRET = "XyZsecret1234567890"
SLACK_URL = f"https://hooks.slack.com/services/T000/B000/{SLACK_SECRET}"


def test_a_requests_connection_error_loses_the_url_path_it_quotes() -> None:
    """requests puts the failing URL's path in its message; for Slack that path is the secret."""
    with pytest.raises(requests.RequestException) as caught:
        requests.post("http://127.0.0.1:9/services/T000/B000/" + SLACK_SECRET, timeout=2)
    text = redact_error(caught.value)
    assert SLACK_SECRET not in text
    assert text.startswith("ConnectionError: ")
    assert "127.0.0.1" in text


def test_a_url_in_free_text_keeps_scheme_and_host_only() -> None:
    text = redact_text(f"could not reach {SLACK_URL}: refused")
    assert text == "could not reach https://hooks.slack.com/[redacted]: refused"


def test_userinfo_in_a_quoted_url_is_dropped() -> None:
    text = redact_text("Invalid URL 'http://scraper:hunter2pw@dagster:3000/graphql'")
    assert "hunter2pw" not in text and "scraper" not in text
    assert "dagster:3000" in text


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    text = redact_text("header Bearer tok_abcdef123 refused", ["tok_abcdef123", "", "ab"])
    assert text == f"header Bearer {MASK} refused"


def test_without_userinfo_keeps_the_path_of_a_graphql_url() -> None:
    assert without_userinfo("https://u:p@dagster.example:3000/graphql") == (
        f"https://{MASK}@dagster.example:3000/graphql"
    )
    assert without_userinfo("http://dagster:3000/graphql") == "http://dagster:3000/graphql"


def test_redact_url_of_a_bare_host_keeps_it() -> None:
    assert redact_url("https://hc-ping.com") == "https://hc-ping.com"
    assert redact_url("https://hc-ping.com/uuid-secret") == "https://hc-ping.com/[redacted]"
    assert redact_url("not a url") == "/[redacted]"


def test_a_secret_url_is_masked_where_its_path_is_quoted_alone() -> None:
    """A receiver's 404 page or a redirect's Location may quote the webhook's path only."""
    text = redact_text(f"Not found: /services/T000/B000/{SLACK_SECRET}", [SLACK_URL])
    assert SLACK_SECRET not in text and text == f"Not found: {MASK}"


def test_a_password_of_a_secret_url_is_masked_where_it_is_quoted_alone() -> None:
    text = redact_text("login refused for hunter2pw", ["https://bot:hunter2pw@hook.example/x"])
    assert text == f"login refused for {MASK}"


CONFIG = {
    "url": "https://receiver.example.com/hooks/s3cr3t-path",
    "headers": {"Authorization": "Bearer tok-123456789", "X-Team": "data"},
    "other": "shown",
}
KEYS = ("url", "headers")


def test_mask_keys_masks_urls_to_their_host_and_every_header_value() -> None:
    assert mask_keys(CONFIG, KEYS) == {
        "url": "https://receiver.example.com/[redacted]",
        "headers": {"Authorization": f"{MASK}6789", "X-Team": MASK},
        "other": "shown",
    }


def test_restore_masked_keeps_stored_secrets_left_as_shown_and_takes_new_ones() -> None:
    shown = mask_keys(CONFIG, KEYS)
    edited = {**shown, "headers": {**shown["headers"], "X-Team": "platform", "X-New": "1"}}
    restored = restore_masked(edited, CONFIG, KEYS)
    assert restored["url"] == CONFIG["url"]
    assert restored["headers"] == {
        "Authorization": "Bearer tok-123456789",
        "X-Team": "platform",
        "X-New": "1",
    }
    typed = restore_masked({**shown, "url": "https://new.example.com/h"}, CONFIG, KEYS)
    assert typed["url"] == "https://new.example.com/h"


def test_secret_strings_lists_every_text_under_the_keys() -> None:
    assert sorted(secret_strings(CONFIG, KEYS)) == sorted(
        [CONFIG["url"], "Bearer tok-123456789", "data"]
    )


def test_redacting_twice_changes_nothing() -> None:
    once = redact_text(f"POST {SLACK_URL} failed; see http://[::1]:8000/alerts/7 (refused)")
    expected = "POST https://hooks.slack.com/[redacted] failed; see http://[::1]:8000/[redacted]"
    assert once == f"{expected} (refused)"
    assert redact_text(once) == once


def test_a_query_value_of_a_secret_url_is_masked_where_it_is_quoted_alone() -> None:
    """A receiver may echo only the token of ``?token=...`` ("token tok-... revoked")."""
    url = "https://hook.example/in?team=data&token=tok-7f3a9c2e41&sig=a%2Bb%2Fc0123"
    text = redact_text("token tok-7f3a9c2e41 revoked; signature a+b/c0123 or a%2Bb%2Fc0123", [url])
    assert "tok-7f3a9c2e41" not in text and "a+b/c0123" not in text and "a%2Bb" not in text
    assert text == f"token {MASK} revoked; signature {MASK} or {MASK}"


def test_a_percent_encoded_password_is_masked_as_typed_and_decoded() -> None:
    url = "json://bot:p%40ss-w0rd-99@hook.example/x"
    text = redact_text("auth p@ss-w0rd-99 / p%40ss-w0rd-99 refused", [url])
    assert text == f"auth {MASK} / {MASK} refused"


def test_a_path_segment_that_looks_like_a_token_is_masked_alone_and_words_stay() -> None:
    url = "https://discord.example/api/webhooks/1234567890/AbCdEfGhIjKlMnOpQrStUvWxYz"
    quoted = "webhook 1234567890 token AbCdEfGhIjKlMnOpQrStUvWxYz unknown (webhooks)"
    text = redact_text(quoted, [url])
    assert text == f"webhook {MASK} token {MASK} unknown (webhooks)"
