"""API of the daily report: read the latest or a day's report, and send one now.

GET needs a token with the ``read`` scope, sending one with ``operate``. Every status an
endpoint can answer is declared with its schema (the API's property-based test holds it to that).
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import ConfigDict, StrictBool, ValidationError

from alerts.notify.links import absolute
from confops.accounts.choices import TokenScope
from confops.accounts.tokens import TokenAuth, request_token
from confops.common.api import AUTH_ERRORS, ApiError, ErrorOut, require_json_type
from confops.common.field_errors import field_messages
from reports import render, sending
from reports.models import DailyReport

router = Router(tags=["reports"])

READ_ERRORS = frozenset({*AUTH_ERRORS, 404})
# The HTML form of a report is a second content type of the same 200 answer.
HTML_TOO = {
    "responses": {
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
    }
}


class ReportOut(Schema):
    """A stored report: its figures (``summary``, see docs/reports.md) and where to read it."""

    date: dt.date
    time_zone: str
    generated_at: datetime
    sent_at: datetime | None
    send_round: int
    headline: str
    summary: dict[str, Any]
    links: dict[str, str]


class FormatQuery(Schema):
    format: Literal["json", "html"] = "json"


class SendIn(Schema):
    """Which day to send (default: yesterday in the report's time zone) and whether again."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    force: StrictBool = False


class SendOut(Schema):
    date: dt.date
    generated: bool
    sent: bool
    notifications: int
    detail: str
    report: ReportOut


def report_out(report: DailyReport) -> ReportOut:
    day = report.date.isoformat()
    api_url = reverse("api:report-daily", kwargs={"day": day})
    return ReportOut(
        date=report.date,
        time_zone=report.time_zone,
        generated_at=report.generated_at,
        sent_at=report.sent_at,
        send_round=report.send_round,
        headline=str(report.summary.get("headline", "")),
        summary=report.summary,
        links={
            "self": absolute(api_url),
            "html": absolute(f"{api_url}?format=html"),
            "page": render.report_url(day),
        },
    )


def answer(report: DailyReport, wanted: str) -> ReportOut | HttpResponse:
    if wanted == "html":
        return HttpResponse(report.html, content_type="text/html; charset=utf-8")
    return report_out(report)


@router.get(
    "/reports/daily/latest",
    auth=TokenAuth(TokenScope.READ),
    response={200: ReportOut, READ_ERRORS: ErrorOut},
    summary="The latest daily report",
    description="JSON summary plus links; `?format=html` answers the report's HTML. "
    "404 when no report was generated yet.",
    url_name="report-daily-latest",
    openapi_extra=HTML_TOO,
)
def latest(request: HttpRequest, query: Query[FormatQuery]) -> Any:
    report = DailyReport.objects.order_by("-date").first()
    if report is None:
        raise ApiError(404, "no daily report yet")
    return answer(report, query.format)


# Before "/reports/daily/{day}": Django tries the patterns in order and "send" would match {day}.
@router.post(
    "/reports/daily/send",
    auth=TokenAuth(TokenScope.OPERATE),
    response={200: SendOut, AUTH_ERRORS: ErrorOut},
    summary="Generate if needed and send a daily report now",
    description='Body (optional): `{"date": "YYYY-MM-DD", "force": false}`. Sends once per '
    "date: a second call answers `sent: false` and writes nothing, unless `force` is true. "
    "A day that has not ended yet in the report's time zone is refused (400).",
    url_name="report-daily-send",
    # The body is optional, which ninja's body parameters cannot say: it is read by hand and
    # documented here.
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": SendIn.model_json_schema()}},
        }
    },
)
def send_now(request: HttpRequest) -> SendOut:
    body = send_body(request)
    now = timezone.now()
    day = body.date or sending.yesterday(now)
    today = now.astimezone(ZoneInfo(settings.REPORT_TIME_ZONE)).date()
    if day > today:
        raise ApiError(400, "invalid request (date)", {"date": "must not be in the future"})
    if day.year < 2000:
        raise ApiError(400, "invalid request (date)", {"date": "must be 2000 or later"})
    token = request_token(request)
    try:
        outcome = sending.send(day, now, force=body.force, by=f"API token {token.name}")
    except sending.DayNotOver as exc:
        raise ApiError(400, "invalid request (date)", {"date": str(exc)}) from None
    return SendOut(
        date=day,
        generated=outcome.generated,
        sent=outcome.sent,
        notifications=outcome.notifications,
        detail=outcome.reason,
        report=report_out(outcome.report),
    )


@router.get(
    "/reports/daily/{day}",
    auth=TokenAuth(TokenScope.READ),
    response={200: ReportOut, READ_ERRORS: ErrorOut},
    summary="The daily report of a date",
    description="`day` is YYYY-MM-DD (400 otherwise, 404 when that day has no report); "
    "`?format=html` answers the report's HTML.",
    url_name="report-daily",
    openapi_extra=HTML_TOO,
)
def by_date(request: HttpRequest, day: str, query: Query[FormatQuery]) -> Any:
    report = DailyReport.objects.filter(date=parse_day(day)).first()
    if report is None:
        raise ApiError(404, f"no daily report for {day}")
    return answer(report, query.format)


def send_body(request: HttpRequest) -> SendIn:
    """The optional JSON body: nothing (or whitespace) means the defaults."""
    raw = request.body
    if not raw.strip():
        return SendIn()
    require_json_type(request)
    try:
        return SendIn.model_validate_json(raw)
    except ValidationError as exc:
        fields = field_messages(
            exc.errors(),
            whole="body",
            not_a_field="is not a field of this request",
            not_an_object="must be a JSON object",
        )
        raise ApiError(400, f"invalid request ({', '.join(fields)})", fields) from None


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "invalid request (day)", {"day": "must be a date: YYYY-MM-DD"}
        ) from None
