"""/api/v1/runbooks: the pages, with their Markdown and the sanitised HTML the portal shows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.runbooks import wiki
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_the_list_holds_the_shipped_pages_by_title(reader_api: Api) -> None:
    body = reader_api.get("/runbooks").json()

    slugs = [r["slug"] for r in body["results"]]
    assert "stale-source" in slugs and body["count"] == len(slugs)
    titles = [r["title"] for r in body["results"]]
    assert titles == sorted(titles)


def test_a_page_has_its_markdown_and_sanitised_html(reader_api: Api, admin_persona: object) -> None:
    wiki.save_page(
        slug="elra-down",
        title="ELRA down",
        body=(
            "# ELRA\n\n<script>alert(1)</script>\n\n"
            "<a href='javascript:alert(1)'>x</a> **call** ops"
        ),
        author=admin_persona,
        now=timezone.now(),
    )

    body = reader_api.get("/runbooks/elra-down").json()

    assert body["body"].startswith("# ELRA")
    assert "<h1>ELRA</h1>" in body["html"] and "<strong>call</strong>" in body["html"]
    assert "<script" not in body["html"] and "javascript:" not in body["html"]
    assert body["revision"] == 1 and body["updated_by"] == "ada-admin"
    assert body["links"]["page"].endswith("/runbooks/elra-down/")
    assert reader_api.get("/runbooks/nope").status_code == 404
