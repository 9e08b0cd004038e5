"""The runbook wiki: list and search, a page with what links to it, edit with preview, history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.forms import PreviewForm, RunbookForm
from alerts.models import Alert, Runbook, RunbookRevision
from alerts.runbooks import wiki
from alerts.views.alerts import LIVE
from alerts.views.common import context_with, needs, see_other
from confops.common import htmx
from monitoring.models import Source


def search(query: str) -> QuerySet[Runbook]:
    pages = Runbook.objects.select_related("updated_by").prefetch_related("alertrule_set")
    for word in query.split():
        pages = pages.filter(
            Q(title__icontains=word) | Q(body__icontains=word) | Q(slug__icontains=word)
        )
    return pages.order_by("title")


@needs("alerts.view_runbook")
def runbook_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    context = context_with(request, runbooks=search(query), q=query)
    return htmx.render_partial(
        request, "alerts/runbook_list.html", "alerts/partials/runbook_results.html", context
    )


@needs("alerts.view_runbook")
def runbook_detail(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = Runbook.objects.select_related("updated_by").filter(slug=slug).first()
    if runbook is None:  # a source may name a page nobody wrote yet
        return render(request, "alerts/runbook_missing.html", {"slug": slug}, status=404)
    context = context_with(
        request,
        runbook=runbook,
        html=wiki.render_markdown(runbook.body),
        rules=runbook.alertrule_set.all(),
        sources=Source.objects.filter(runbook_slug=slug).select_related("deployment"),
        alerts=Alert.objects.filter(Q(rule__runbook=runbook) | Q(source__runbook_slug=slug))
        .filter(state__in=LIVE)
        .select_related("rule", "source", "deployment")
        .order_by("-fired_at"),
        latest=runbook.revisions.select_related("author").first(),
    )
    return render(request, "alerts/runbook_detail.html", context)


@needs("alerts.add_runbook")
def runbook_create(request: HttpRequest) -> HttpResponse:
    form = RunbookForm(request.POST or None, initial={"slug": request.GET.get("slug", "")})
    return save_or_show(request, form, None)


@needs("alerts.change_runbook")
def runbook_edit(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    initial = {"base_revision": wiki.latest_number(runbook)}
    form = RunbookForm(request.POST or None, instance=runbook, initial=initial)
    return save_or_show(request, form, runbook)


def save_or_show(request: HttpRequest, form: RunbookForm, runbook: Runbook | None) -> HttpResponse:
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = wiki.save_page(
                    slug=runbook.slug if runbook else data["slug"],
                    title=data["title"],
                    body=data["body"],
                    author=request.user,
                    now=timezone.now(),
                    summary=data.get("summary", ""),
                    base_revision=data.get("base_revision") if runbook else None,
                )
            except wiki.EditConflict as exc:
                form.add_error(None, exc)
                status = 409
            else:
                messages.success(request, f"Saved “{saved.title}”.")
                return see_other(reverse("alerts:runbook-detail", args=[saved.slug]))
        else:
            status = 422
    body = form["body"].value() or ""
    context = context_with(request, form=form, runbook=runbook, preview=wiki.render_markdown(body))
    return render(request, "alerts/runbook_form.html", context, status=status)


@require_POST
def runbook_preview(request: HttpRequest) -> HttpResponse:
    """The rendered page as the editor types (htmx); only for those who may write pages."""
    user = request.user
    if not (user.has_perm("alerts.add_runbook") or user.has_perm("alerts.change_runbook")):
        raise PermissionDenied
    form = PreviewForm(request.POST)
    body = form.cleaned_data["body"] if form.is_valid() else ""
    return render(
        request, "alerts/partials/runbook_preview.html", {"preview": wiki.render_markdown(body)}
    )


@needs("alerts.view_runbook")
def runbook_history(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    revisions = runbook.revisions.select_related("author").order_by("-number")
    return render(
        request, "alerts/runbook_history.html", {"runbook": runbook, "revisions": revisions}
    )


@needs("alerts.view_runbook")
def runbook_revision(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """One revision: what it changed against the one before (a diff, escaped), and its text."""
    runbook = get_object_or_404(Runbook, slug=slug)
    revision = get_object_or_404(
        RunbookRevision.objects.select_related("author"), runbook=runbook, number=number
    )
    previous = runbook.revisions.filter(number__lt=number).order_by("-number").first()
    context = {
        "runbook": runbook,
        "revision": revision,
        "previous": previous,
        "title_changed": previous is not None and previous.title != revision.title,
        "diff": wiki.diff_lines(previous.body if previous else "", revision.body),
        "html": wiki.render_markdown(revision.body),
    }
    return render(request, "alerts/runbook_revision.html", context)
