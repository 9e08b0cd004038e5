"""Runbooks: list and read the wiki's pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from alerts.api.common import NOT_FOUND, api_link, read_auth, username
from alerts.models import Runbook
from alerts.runbooks import wiki
from confops.common.api import AUTH_ERRORS, ErrorOut, PageOut, PageQuery, get_or_404, paginate

router = Router()


class RunbookOut(Schema):
    slug: str
    title: str
    updated_at: datetime
    updated_by: str | None
    links: dict[str, str]


class RunbookDetailOut(RunbookOut):
    body: str = Field(description="Markdown, as written.")
    html: str = Field(description="Rendered and sanitised (no scripts, handlers or js: links).")
    revision: int = Field(description="The number of the latest revision (0: none yet).")


class RunbookPage(PageOut):
    results: list[RunbookOut]


def runbook_out(request: HttpRequest, runbook: Runbook) -> dict[str, Any]:
    return {
        "slug": runbook.slug,
        "title": runbook.title,
        "updated_at": runbook.updated_at,
        "updated_by": username(runbook.updated_by),
        "links": {
            "self": api_link(request, "runbook-detail", runbook.slug),
            "page": request.build_absolute_uri(
                reverse("alerts:runbook-detail", args=[runbook.slug])
            ),
        },
    }


@router.get(
    "/runbooks",
    auth=read_auth,
    response={200: RunbookPage, AUTH_ERRORS: ErrorOut},
    tags=["runbooks"],
    summary="List runbook pages",
    url_name="runbook-list",
)
def list_runbooks(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    runbooks = Runbook.objects.select_related("updated_by").order_by("title", "slug")
    rows, links = paginate(request, runbooks, page)
    return {**links, "results": [runbook_out(request, r) for r in rows]}


@router.get(
    "/runbooks/{slug}",
    auth=read_auth,
    response={200: RunbookDetailOut, NOT_FOUND: ErrorOut},
    tags=["runbooks"],
    summary="Read a runbook page",
    url_name="runbook-detail",
)
def read_runbook(request: HttpRequest, slug: str) -> dict[str, Any]:
    runbook = get_or_404(Runbook.objects.select_related("updated_by"), "runbook", slug=slug)
    return {
        **runbook_out(request, runbook),
        "body": runbook.body,
        "html": str(wiki.render_markdown(runbook.body)),
        "revision": wiki.latest_number(runbook),
    }
