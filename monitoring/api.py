"""API of monitoring: the push endpoint for jobs that do not run in Dagster. Sources, with the
state the status page shows, are read and changed through ``alerts/api/sources.py``: that state
comes from their open alerts, which monitoring knows nothing of."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status

from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken
from confops.accounts.tokens import TokenAuth, request_token
from confops.common.api import ApiError, ErrorOut
from monitoring.models import Source
from monitoring.push import (
    InvalidReport,
    PushedRunReport,
    RunConflict,
    UnknownSource,
    find_pushed_source,
    record_pushed_run,
)

router = Router()


class PushedRunOut(Schema):
    """The stored run as it stands after the report."""

    run_id: str
    status: str
    created: bool
    source: str
    links: dict[str, str]


@router.post(
    "/sources/{slug}/runs",
    auth=TokenAuth(TokenScope.PUSH),
    tags=["push"],
    response={200: PushedRunOut, 201: PushedRunOut, frozenset({400, 401, 403, 404, 409}): ErrorOut},
    summary="Report a run of a job outside Dagster",
    description=(
        "Body: one replay line (`at`, `status`, `duration_s`, `metrics`, `error`) plus an "
        "optional `run_id` (idempotent retries) and `event` (`start` for a run that began). "
        "201: a new run; 200: an existing run was completed, or nothing changed (a replay). "
        "See docs/push-api.md."
    ),
    url_name="push-run",
)
def push_run(request: HttpRequest, slug: str, report: PushedRunReport) -> Status[PushedRunOut]:
    source = allowed_source(request_token(request), slug)
    try:
        run, created = record_pushed_run(source, report, timezone.now())
    except InvalidReport as exc:
        raise ApiError(400, f"invalid request ({', '.join(exc.fields)})", exc.fields) from exc
    except RunConflict as exc:
        raise ApiError(409, str(exc)) from exc
    body = PushedRunOut(
        run_id=run.run_id,
        status=run.status.lower(),
        created=created,
        source=source.slug,
        # The run's and the source's pages in the portal go here once they exist.
        links={},
    )
    return Status(201 if created else 200, body)


def allowed_source(token: ApiToken, slug: str) -> Source:
    """The pushed source the token reports for. A token limited to some sources gets the same
    403 for a slug that does not exist as for one it may not use, so it cannot probe which
    sources exist; only a token for all sources learns that a slug is unknown (404)."""
    forbidden = ApiError(403, f"this token may not report runs of '{slug}'")
    try:
        source = find_pushed_source(slug)
    except UnknownSource as exc:
        raise (ApiError(404, str(exc)) if token.all_sources else forbidden) from exc
    if not token.allows_source(source):
        raise forbidden
    return source
