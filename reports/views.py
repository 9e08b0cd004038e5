"""Pages of the daily report: the latest one and the archive by date (Viewer role and up)."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

# A report shows sources and their alerts: the same reading rights as the status page.
from alerts.views.common import reader_only
from reports.models import DailyReport
from reports.render import render_html

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


def report_page(request: HttpRequest, report: DailyReport | None) -> HttpResponse:
    archive = list(
        DailyReport.objects.order_by("-date").values("date", "summary__headline")[:ARCHIVE_SIZE]
    )
    context = {
        "report": report,
        "report_html": render_html(report.summary, email=False) if report else "",
        "archive": archive,
    }
    return render(request, "reports/report_page.html", context)
