"""Runbooks shipped for the default rules, written for the example pipeline (examples/confradar).

Created after every migrate (and test flush) when missing, each with a first revision, and linked
to the default rules they explain when those rules have no runbook yet. A page an operator edited
is never overwritten, and a rule pointed at another page keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    DefaultRunbook(
        "scraper-failure", "Scraper failure", ("Run failed", "Two consecutive failures")
    ),
    DefaultRunbook(
        "stale-source", "Stale source", ("Stale (no success when expected)", "Missed schedule")
    ),
    DefaultRunbook("volume-drop", "Volume drop", ("Volume drop over 30 %", "Count below minimum")),
    DefaultRunbook(
        "asset-check-failed",
        "Asset check failed",
        ("Asset check ERROR", "Asset check WARN", "Duplicates"),
    ),
    DefaultRunbook("deployment-unreachable", "Deployment unreachable", ("Deployment unreachable",)),
    DefaultRunbook("confops-stalled", "confops stalled", ("confops stalled",)),
]


def create_default_runbooks(**_: object) -> list[str]:
    """Create missing default pages and link unlinked default rules; return the slugs created."""
    created = []
    now = timezone.now()
    for default in DEFAULT_RUNBOOKS:
        runbook = Runbook.objects.filter(slug=default.slug).first()
        if runbook is None:
            runbook = wiki.save_page(
                slug=default.slug,
                title=default.title,
                body=default.body,
                author=None,
                now=now,
                summary="Shipped with confops",
            )
            created.append(default.slug)
        AlertRule.objects.filter(name__in=default.rules, runbook__isnull=True).update(
            runbook=runbook
        )
    return created
