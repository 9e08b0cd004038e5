"""A NUL character in a search or filter is a 400 before it reaches the database: PostgreSQL
cannot compare text holding one, and `/runbooks/?q=%00` was a 500 there. Run on SQLite and on
PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.runbooks import wiki
from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken
from tests.alerts import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/runbooks/?q=%00",
        "/runbooks/?q=stale%00source",
        "/?group=a%00b",
        "/?owner=%00",
        "/alerts/?source=%00",
        "/sources/{slug}/?metric=%00",
        "/runbooks/?%00=x",
    ],
)
def test_a_nul_in_a_page_query_is_a_400(viewer_user_client: Client, url: str) -> None:
    source = factories.source("elra_conferences")

    response = viewer_user_client.get(url.format(slug=source.slug))

    assert response.status_code == 400
    assert response.content == b"NUL characters are not accepted"


def test_a_nul_in_an_admin_search_is_a_400(admin_persona_client: Client) -> None:
    response = admin_persona_client.get("/admin/alerts/runbook/?q=%00")

    assert response.status_code == 400


def test_a_nul_in_an_api_filter_is_the_api_json_400(viewer_user: Any) -> None:
    _, raw = ApiToken.issue("dashboard", [TokenScope.READ], viewer_user)

    response = Client().get("/api/v1/sources?group=%00", headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 400
    assert response.json() == {"error": "NUL characters are not accepted"}


def test_the_search_still_finds_a_page(viewer_user_client: Client, admin_persona: Any) -> None:
    wiki.save_page(
        slug="stale-source",
        title="Stale source",
        body="# x",
        author=admin_persona,
        now=timezone.now(),
    )

    response = viewer_user_client.get("/runbooks/?q=stale%20source")

    assert response.status_code == 200
    assert "Stale source" in response.content.decode()
