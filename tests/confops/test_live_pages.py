"""Pages that refresh themselves stay honest: an htmx request whose session ended moves the
whole page to the login (never a login form swapped into the page), with ``next`` the page on
screen; a plain request still gets the usual redirect; and without JavaScript each
self-refreshing page says it does not refresh."""

from __future__ import annotations

from typing import Any
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


NOSCRIPT = "This page does not refresh itself without JavaScript: it reloads every 60 s."


@pytest.mark.parametrize("url", ["/", "/alerts/", "/silences/"])
def test_each_self_refreshing_page_polls_and_says_it_does_not_refresh_without_javascript(
    viewer_user_client: Client, url: str
) -> None:
    html = viewer_user_client.get(url).content.decode()
    assert f'<noscript><p class="noscript-note">{NOSCRIPT}</p></noscript>' in html
    assert 'hx-trigger="every 15s"' in html and 'data-live-seconds="15"' in html


def test_the_status_page_claims_its_interval_only_where_javascript_shows_it(
    viewer_user_client: Client,
) -> None:
    html = viewer_user_client.get("/").content.decode()
    assert "<span data-live-only hidden>, every 15 s</span>" in html


def test_a_refreshing_list_asks_again_for_the_address_that_rendered_it(
    viewer_user_client: Client,
) -> None:
    html = viewer_user_client.get("/alerts/?severity=warning&page=2").content.decode()
    assert 'hx-get="/alerts/?severity=warning&amp;page=2"' in html
    assert 'hx-target="#alert-lists"' in html


def test_a_silences_refresh_gets_the_lists_alone(viewer_user_client: Client) -> None:
    response = viewer_user_client.get(
        "/silences/", headers={"HX-Request": "true", "HX-Target": "silence-lists"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="silence-lists">') and "<h1>" not in html
    assert 'hx-target="#silence-lists"' in html and "HX-Target" in response["Vary"]


@pytest.mark.parametrize("url", ["/", "/alerts/", "/silences/"])
def test_without_javascript_each_self_refreshing_page_reloads_every_four_intervals(
    viewer_user_client: Client, url: str, settings: Any
) -> None:
    html = viewer_user_client.get(url).content.decode()
    head = html.split("</head>")[0]
    assert '<noscript><meta http-equiv="refresh" content="60"></noscript>' in head
    settings.STATUS_REFRESH_SECONDS = 30
    html = viewer_user_client.get(url).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="120"></noscript>' in html
    assert "without JavaScript: it reloads every 120 s.</p></noscript>" in html
