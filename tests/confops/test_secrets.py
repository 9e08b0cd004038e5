"""The one home of redaction: what an error text or a URL keeps once it is safe to show."""

from __future__ import annotations

import pytest
import requests

from confops.secrets import MASK, redact_error, redact_text, redact_url, without_userinfo

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
