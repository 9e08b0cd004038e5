"""Every page carries a Content-Security-Policy its own HTML needs no exception from (no inline
script, no event-handler attribute), and what a logged-in user or a token sees is never cached."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import token_for

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/alerts/",
    "/silences/",
    "/silences/new/",
    "/runbooks/",
    "/runbooks/new/",
    "/reports/",
    "/admin/",
    "/admin/alerts/channel/",
    "/admin/alerts/channel/add/",
    "/admin/django_celery_beat/periodictask/",
    "/admin/django_celery_beat/periodictask/add/",
    "/admin/auth/user/",
    "/api/v1/docs",
]


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would refuse to run."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self.found.append(f"<script> without src: {attrs}")
        self.found += [f"{tag} {n}" for n, _ in attrs if n.startswith(("on", "hx-on"))]
        self.found += [f"{tag} {n}={v}" for n, v in attrs if (v or "").startswith("javascript:")]


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def policy(response: Any) -> dict[str, list[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {words[0]: words[1:] for words in directives if words}


def test_the_checker_sees_inline_code() -> None:
    assert len(inline_code('<script>x()</script><a onclick="y">z</a><a href="javascript:z">')) == 3
    assert (
        inline_code('<script src="/s.js"></script><script type="application/json">{}</script>')
        == []
    )


@pytest.mark.parametrize("url", PAGES)
def test_every_page_works_without_inline_script(admin_client: Client, url: str) -> None:
    response = admin_client.get(url)
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []
    rules = policy(response)
    assert rules["script-src"] == ["'self'"]
    assert rules["img-src"] == ["'self'", "data:"]
    assert rules["object-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]


def test_the_login_page_has_the_policy_too(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert inline_code(response.content.decode()) == []
    assert policy(response)["script-src"] == ["'self'"]


def test_htmx_is_told_not_to_inject_style_or_evaluate_code(admin_client: Client) -> None:
    for url in ("/", "/alerts/"):
        html = admin_client.get(url).content.decode()
        assert html.count('name="htmx-config"') == 1
        assert '"includeIndicatorStyles": false, "allowEval": false' in html


@pytest.mark.parametrize("url", ["/", "/alerts/", "/admin/", "/health/detailed"])
def test_pages_for_a_logged_in_user_are_private_and_not_stored(
    admin_client: Client, url: str
) -> None:
    directives = set(admin_client.get(url)["Cache-Control"].replace(" ", "").split(","))
    assert {"private", "no-store"} <= directives and "public" not in directives


def test_api_answers_to_a_token_are_private(admin_persona: Any) -> None:
    _, secret = token_for(admin_persona, "read")
    response = Client().get("/api/v1/sources", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
