"""The runbook wiki: Markdown rendered to safe HTML, saves that keep a revision each, diffs.

Rendering is two well-kept libraries in a row: markdown-it-py (CommonMark, the reference
implementation's port) turns text into HTML, then nh3 (Python bindings of the Rust sanitiser
ammonia) keeps only an allow-list of tags, attributes and URL schemes. Raw HTML in a page is
allowed through the parser on purpose (``<details>``, ``<kbd>``), so the sanitiser is the guard:
no script or style element, no event-handler attribute and no ``javascript:`` or ``data:`` URL
survives it. Images load from this site only: an ``<img>`` pointing elsewhere loses its ``src``
(its alt text stays), so a page cannot carry a tracking pixel that reports who opened it, and
the Content-Security-Policy's ``img-src 'self' data:`` would block it in the browser anyway.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import nh3
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from alerts.models import Runbook, RunbookRevision
from confops.accounts import audit

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code"),
    *("strong", "em", "b", "i", "s", "del", "kbd", "sup", "sub", "mark"),
    *("ul", "ol", "li", "dl", "dt", "dd", "a", "img", "details", "summary"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "details": {"open"},
}
# Relative links (other runbooks, pages of the portal) pass; absolute ones need these schemes.
URL_SCHEMES = {"http", "https", "mailto"}
# Removed with their content, so a script's text does not show up as page text either.
DROPPED_WITH_CONTENT = {"script", "style"}
# Browsers drop tabs and newlines inside URLs and read a backslash as a slash.
URL_IGNORED = re.compile(r"[\t\n\r]")


def is_same_site(url: str) -> bool:
    """A relative URL (``/static/x.png``, ``x.png``): no scheme, no host, not ``//host``."""
    plain = URL_IGNORED.sub("", url).strip().replace("\\", "/")
    parts = urlsplit(plain)
    return not plain.startswith("//") and not parts.scheme and not parts.netloc


def same_site_images(element: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: an image from another host loses its ``src``."""
    if element == "img" and attribute == "src" and not is_same_site(value):
        return None
    return value


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that is safe to put in a page as it is."""
    html = MARKDOWN.render(text)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=same_site_images,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above


class EditConflict(ValidationError):
    """Someone saved the page since the editor opened it."""


@transaction.atomic
def save_page(
    *,
    slug: str,
    title: str,
    body: str,
    author: Any,
    now: datetime,
    summary: str = "",
    base_revision: int | None = None,
) -> Runbook:
    """Create or update a page and add its next revision; audited.

    ``base_revision`` is the revision the editor started from: if another save came in since,
    this one is refused (``EditConflict``) instead of silently overwriting it.
    """
    runbook = Runbook.objects.select_for_update().filter(slug=slug).first()
    user = author if getattr(author, "is_authenticated", False) else None
    latest = latest_number(runbook) if runbook else 0
    if runbook is not None and base_revision is not None and base_revision != latest:
        raise EditConflict(
            f"Someone saved revision {latest} of this page while you were editing revision "
            f"{base_revision}. Your text is below: compare it with the page and save again."
        )
    before = audit.snapshot(runbook, ["title", "body"]) if runbook else {}
    if runbook is None:
        runbook = Runbook(slug=slug)
    if runbook.pk and before == {"title": title, "body": body}:
        return runbook  # nothing changed: no empty revision
    runbook.title, runbook.body, runbook.updated_by = title, body, user
    runbook.save()
    number = latest + 1
    RunbookRevision.objects.create(
        runbook=runbook,
        number=number,
        title=title,
        body=body,
        summary=summary,
        author=user,
        created_at=now,
    )
    changes = audit.diff(before, {"title": title, "body": body})
    if "body" in changes:  # the revision keeps the text; the audit notes which revision
        changes["body"] = [f"revision {number - 1}" if number > 1 else None, f"revision {number}"]
    audit.record(now, "changed" if before else "created", runbook, changes, actor=user)
    return runbook


def latest_number(runbook: Runbook) -> int:
    return int(runbook.revisions.aggregate(n=Max("number"))["n"] or 0)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "context"
    text: str


def diff_lines(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """A unified diff of two texts, as lines a template renders (and escapes) one by one."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "before", "after", n=context, lineterm=""
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "context")
        out.append(DiffLine(kind, line))
    return out
