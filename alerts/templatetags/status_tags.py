"""The status page's two hot loops, a cell per source and a bar per run, rendered in Python.

At 1,000 sources the page has a thousand cells and thousands of bars. Rendered by the template
engine (several lookups per variable) or by ``format_html`` (a lazy-aware escape per value),
they were most of the page's time. Here every value that can carry text (keys, slugs, URLs,
reasons, labels with run errors) goes through the standard library's ``html.escape`` (a source's
name through ``breakable_html``, which escapes it and lets it wrap at its separators), and the
result is marked safe once per loop. Values not escaped are produced by confops itself:
states (``HealthState``), icon ids, and percentages formatted from numbers.

    <ul class="cells">{{ group.cells|grid_cells }}</ul>
    {{ group.cells|timeline_rows }}
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from alerts.pages.status import Cell
from confops.common.markup import breakable_html
from monitoring.timeline import Bar

register = template.Library()


@register.filter
def grid_cells(cells: Iterable[Cell]) -> SafeString:
    return mark_safe("".join(cell_html(cell) for cell in cells))  # noqa: S308 - see the docstring


def cell_html(cell: Cell) -> str:
    health = cell.health
    state = health.state
    last_run = f"{cell.last_run} ago, {cell.last_status}" if cell.last_status else "never"
    fresh = f"{cell.fresh} ago" if cell.fresh != "—" else "never"
    marks = mark_html(cell)
    reason = f'<p class="cell-reason">{escape(health.reason)}</p>' if health.reason else ""
    return (
        f'<li class="cell state-{state}" id="cell-{escape(cell.slug)}" data-state="{state}">'
        f'<a class="cell-name" href="{escape(cell.url)}">{breakable_html(cell.key)}</a>'
        f'<span class="cell-state"><svg class="icon" aria-hidden="true">'
        f'<use href="#{health.icon}"/></svg>{health.label}</span>{marks}'
        f'<dl class="cell-facts">'
        f"<div><dt>Last run</dt><dd>{escape(last_run)}</dd></div>"
        f"<div><dt>Count</dt><dd>{escape(count_text(cell, fresh))}</dd></div>"
        f"<div><dt>Last success</dt><dd>{escape(fresh)}</dd></div>"
        f"</dl>{reason}</li>"
    )


def count_text(cell: Cell, fresh: str) -> str:
    """The count is the last success's metric: after a failed (or running, canceled) run it
    is older than the last run, so it says so rather than pass for the failed run's count."""
    stale = cell.last_status not in ("", "success") and cell.fresh != "—"
    return f"{cell.count} (last success {fresh})" if stale and cell.count != "—" else cell.count


# A failing source's alerts held back by a silence, or taken by someone: an icon and a word,
# never colour alone (issue 18).
MARKS = {
    "silenced": ("i-silenced", "silenced", "Every open alert is held back (silenced)"),
    "acknowledged": ("i-acknowledged", "acknowledged", "Someone acknowledged its alerts"),
}


def mark_html(cell: Cell) -> str:
    kind = "silenced" if cell.silenced else "acknowledged" if cell.acknowledged else ""
    if not kind:
        return ""
    icon, word, title = MARKS[kind]
    return (
        f'<span class="cell-mark cell-{word}" title="{title}">'
        f'<svg class="icon" aria-hidden="true"><use href="#{icon}"/></svg>{word}</span>'
    )


@register.filter
def timeline_rows(cells: Iterable[Cell]) -> SafeString:
    return mark_safe("".join(row_html(cell) for cell in cells))  # noqa: S308 - see the docstring


def row_html(cell: Cell) -> str:
    key = escape(cell.key)
    if cell.bars:
        bars = "".join(bar_html(bar, key) for bar in cell.bars)
    else:
        bars = '<span class="tl-empty">no runs</span>'
    capped = '<span class="tl-capped">latest runs only</span>' if cell.capped else ""
    return (
        f'<div class="tl-row state-{cell.health.state}">'
        f'<a class="tl-label" href="{escape(cell.url)}" title="{key}">'
        f"{breakable_html(cell.key)}</a>"
        f'<div class="tl-track">{bars}{capped}</div></div>'
    )


def bar_html(bar: Bar, source: str) -> str:
    """A success is a span with a title that a tap or a click focuses (``tabindex=-1``: the
    thousands of them are no tab stops), its focus showing the title as a tip (confops.css).
    A failure is a tab stop and a link (to the run in Dagster when there is one) whose tip shows
    on hover and on focus; on a touch screen its first tap opens the tip (timeline.js)."""
    label = escape(bar.label)
    where = f"left:{bar.left};width:{bar.width}"
    if not bar.is_failure:
        late = ' data-tip="left"' if bar.late else ""
        return (
            f'<span class="bar bar-{bar.state}" tabindex="-1"{late} style="{where}"'
            f' title="{label}"></span>'
        )
    late = " tip-left" if bar.late else ""
    href = f' href="{escape(bar.url)}" target="_blank" rel="noopener"' if bar.url else ""
    return (
        f'<a class="bar bar-{bar.state}{late}" id="{escape(bar.key)}" tabindex="0"{href}'
        f' style="{where}" title="{label}" aria-label="{source}: {label}">'
        f'<span class="tip" aria-hidden="true">{label}</span></a>'
    )
