"""Runbooks shipped for the default rules: generic Dagster on-call pages (what the alert means,
where to look in the Dagster UI, how to re-execute, theirs or ours), for any Dagster project.
The bundled example's own pages ship with it (examples/confradar/runbooks, installed by the demo).

Created after every migrate (and test flush) when missing, each with a first revision, and linked
to the default rules they explain when those rules have no runbook yet. A page still as shipped
(its latest revision by no one, summarised as shipped) follows the shipped text, so existing
installs lose the example's text; a page an operator edited is never overwritten, and a rule
pointed at another page keeps it. Slugs stay as first shipped (``scraper-failure`` is the run
failure page) so links in old messages and sources keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from alerts.models import AlertRule, Runbook
from alerts.runbooks import wiki

PAGES_DIR = Path(__file__).parent / "pages"


@dataclass(frozen=True)
class DefaultRunbook:
    slug: str
    title: str
    rules: tuple[str, ...]

    @property
    def body(self) -> str:
        return (PAGES_DIR / f"{self.slug}.md").read_text(encoding="utf-8")


DEFAULT_RUNBOOKS = [
    DefaultRunbook("scraper-failure", "Run failure", ("Run failed", "Consecutive failures")),
    DefaultRunbook(
        "stale-source", "Stale source", ("Stale (no success when expected)", "Missed schedule")
    ),
    DefaultRunbook("volume-drop", "Volume drop", ("Volume drop", "Count below minimum")),
    DefaultRunbook(
        "asset-check-failed",
        "Asset check failed",
        ("Asset check ERROR", "Asset check WARN", "Duplicates"),
    ),
    DefaultRunbook(
        "dagster-control-plane",
        "Dagster daemon, code location or tick problem",
        (
            "Code location or daemon unhealthy",
            "Schedule or sensor tick failed",
            "Schedule or sensor stopped",
            "Queued runs not starting",
            "Runs stuck starting or canceling",
        ),
    ),
    DefaultRunbook("deployment-unreachable", "Deployment unreachable", ("Deployment unreachable",)),
    DefaultRunbook("confops-stalled", "confops stalled", ("confops stalled",)),
]


SHIPPED = "Shipped with confops"


def create_default_runbooks(**_: object) -> list[str]:
    """Create missing default pages, bring pages still as shipped up to the shipped text and
    link unlinked default rules; return the slugs created."""
    created = []
    now = timezone.now()
    for default in DEFAULT_RUNBOOKS:
        runbook = Runbook.objects.filter(slug=default.slug).first()
        is_new = runbook is None
        if runbook is None or is_as_shipped(runbook):
            runbook = wiki.save_page(
                slug=default.slug,
                title=default.title,
                body=default.body,
                author=None,
                now=now,
                summary=SHIPPED,
            )
            if is_new:
                created.append(default.slug)
        AlertRule.objects.filter(name__in=default.rules, runbook__isnull=True).update(
            runbook=runbook
        )
    return created


def is_as_shipped(runbook: Runbook, summary: str = SHIPPED) -> bool:
    """Whether nobody edited the page since it was installed (its latest revision is ours)."""
    latest = runbook.revisions.order_by("-number").first()
    return latest is not None and latest.author_id is None and latest.summary == summary


def install_pages(directory: Path, now: datetime) -> list[str]:
    """Install a folder of Markdown runbooks (a pipeline's own pages): one page per ``*.md``
    file but its README, slug from the file name, title from the first ``# `` line. A missing
    page is created and one still as installed follows the file; an edited one is kept.
    Returns the slugs written."""
    summary = f"Installed from {directory.name}"
    written = []
    for path in sorted(directory.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        title, body = split_title(path.read_text(encoding="utf-8"), path.stem)
        page = Runbook.objects.filter(slug=path.stem).first()
        if page is not None and not is_as_shipped(page, summary):
            continue
        before = (page.title, page.body) if page else None
        wiki.save_page(
            slug=path.stem, title=title, body=body, author=None, now=now, summary=summary
        )
        if before != (title, body):
            written.append(path.stem)
    return written


def split_title(text: str, fallback: str) -> tuple[str, str]:
    """The first ``# `` line as the title and the rest as the body (the page shows the title)."""
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest.lstrip("\n")
    return fallback, text
