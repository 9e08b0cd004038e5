"""Pages of the daily report: the latest one and the archive by date (Viewer role and up), and
building today's report so far (Admin role: it writes a report, a ``reports`` permission)."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

# A report shows sources and their alerts: the same reading rights as the status page.
from alerts.views.common import needs, reader_only, see_other
from reports import sending
from reports.models import DailyReport
from reports.render import render_html
from reports.schedule import configured_schedule, due_text

# Only the Admin role holds ``reports`` permissions (confops/accounts/roles.py).
BUILD = "reports.add_dailyreport"

ARCHIVE_SIZE = 90


@require_GET
@reader_only
def report_latest(request: HttpRequest) -> HttpResponse:
    return report_page(request, DailyReport.objects.order_by("-date").first())


@require_GET
@reader_only
def report_detail(request: HttpRequest, day: str) -> HttpResponse:
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise Http404("not a date") from None
    report = DailyReport.objects.filter(date=wanted).first()
    if report is None:
        raise Http404(f"no report for {wanted}")
    return report_page(request, report)


@require_POST
@needs(BUILD)
def report_build_so_far(request: HttpRequest) -> HttpResponse:
    """Build today's report up to now (``sending.build_so_far``, as ``daily_report --so-far``)
    and show it; an htmx request is sent to the page whole (``HX-Redirect``)."""
    report = sending.build_so_far(timezone.now())
    url = reverse("reports:detail", kwargs={"day": report.date.isoformat()})
    if getattr(request, "htmx", False):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return see_other(url)


def report_page(request: HttpRequest, report: DailyReport | None) -> HttpResponse:
    archive = list(
        DailyReport.objects.order_by("-date").values("date", "summary__headline")[:ARCHIVE_SIZE]
    )
    context = {
        "report": report,
        "report_html": render_html(report.summary, email=False) if report else "",
        "archive": archive,
        "next_due": due_text(timezone.now(), configured_schedule()),
        "can_build": request.user.has_perm(BUILD),
    }
    return render(request, "reports/report_page.html", context)
