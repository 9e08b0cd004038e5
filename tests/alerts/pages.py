"""Seeding and reading helpers shared by the status and source page tests."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any

from alerts.choices import AlertState, Severity
from alerts.models import Alert, AlertRule
from monitoring.models import Source

_rules = itertools.count(1)


def open_alert(
    src: Source | None,
    severity: str = Severity.CRITICAL,
    *,
    now: datetime,
    state: str = AlertState.FIRING,
    rule_name: str = "",
    deployment: Any = None,
    kind: str = "stale",
) -> Alert:
    """An alert as the engine leaves it; on a rule of its own unless one is named (a named
    rule, such as a default one, is reused)."""
    rule, _ = AlertRule.objects.get_or_create(
        name=rule_name or f"{kind} rule {next(_rules)}",
        defaults={"kind": kind, "severity": severity},
    )
    resolved = state == AlertState.RESOLVED
    return Alert.objects.create(
        rule=rule,
        source=src,
        deployment=deployment or (src.deployment if src else None),
        state=state,
        severity=severity,
        summary=f"{rule.name} on {src.key if src else deployment}",
        opened_at=now,
        condition_since=now,
        fired_at=None if state == AlertState.PENDING else now,
        last_seen_at=now,
        resolved_at=now if resolved else None,
    )


def cell_state(html: str, slug: str) -> str:
    """The state a grid cell shows, read from its class (what the CSS colours)."""
    found = re.search(rf'<li class="cell state-(\w+)" id="cell-{re.escape(slug)}"', html)
    assert found, f"no cell for {slug}"
    return found.group(1)


def cell_html(html: str, slug: str) -> str:
    start = html.index(f'id="cell-{slug}"')
    return html[start : html.index("</li>", start)]


def shown_slugs(html: str) -> set[str]:
    return set(re.findall(r'id="cell-([\w-]+)"', html))


def clearing(alert: Alert, cleared_at: datetime, hold_minutes: int = 30) -> Alert:
    """The alert as the engine leaves it once its condition cleared: open, waiting out its
    rule's resolve hold from ``cleared_at``."""
    alert.rule.resolve_hold_minutes = hold_minutes
    alert.rule.save(update_fields=["resolve_hold_minutes"])
    alert.clear_since = cleared_at
    alert.save(update_fields=["clear_since"])
    return alert


def as_read(html: str) -> str:
    """A page's HTML without the <wbr> a long name carries to wrap at its separators
    (``|breakable``): "elra_conferences" reads as typed, whatever breaks it may take."""
    return html.replace("<wbr>", "")
