"""Pages that refresh themselves stay honest: an htmx request whose session ended moves the
whole page to the login (never a login form swapped into the page), with ``next`` the page on
screen; a plain request still gets the usual redirect; and without JavaScript each
self-refreshing page says it does not refresh."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

POLL = {"HX-Request": "true", "HX-Target": "alert-lists"}


def next_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == "/accounts/login/"
    return parse_qs(parts.query)["next"][0]


def test_an_htmx_refresh_after_the_session_ended_moves_the_whole_page_to_the_login(
    client: Client,
) -> None:
    shown = "http://testserver/alerts/?severity=warning&state=firing"
    response = client.get("/alerts/?severity=warning", headers={**POLL, "HX-Current-URL": shown})
    assert response.status_code == 200 and response.content == b""
    assert next_of(response["HX-Redirect"]) == "/alerts/?severity=warning&state=firing"
    assert "HX-Request" in response["Vary"]


def test_an_htmx_action_after_logout_keeps_the_page_it_was_sent_from(
    viewer_user_client: Client,
) -> None:
    viewer_user_client.post("/accounts/logout/")
    response = viewer_user_client.post(
        "/alerts/1/acknowledge/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/silences/"},
    )
    assert next_of(response["HX-Redirect"]) == "/silences/"


def test_without_the_current_url_next_is_the_requested_address(client: Client) -> None:
    response = client.get("/?group=scrapers", headers={"HX-Request": "true"})
    assert next_of(response["HX-Redirect"]) == "/?group=scrapers"


def test_a_plain_request_after_logout_still_gets_a_redirect(client: Client) -> None:
    response = client.get("/alerts/?severity=warning")
    assert response.status_code == 302 and "HX-Redirect" not in response
    assert next_of(response["Location"]) == "/alerts/?severity=warning"


def test_an_htmx_request_of_a_logged_in_user_is_answered_as_before(
    viewer_user_client: Client,
) -> None:
    response = viewer_user_client.get("/alerts/", headers=POLL)
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert response.content.decode().lstrip().startswith('<div id="alert-lists">')
