"""The JSON API (`/api/v1/`): one NinjaAPI for every app, one error body, bearer-token auth.

Apps add a ninja `Router` each (mounted in `confops/urls.py`). Every 4xx answer has the same
body, `{"error": "<message>"}`, plus `"fields": {"<path>": "<message>"}` when the request did
not validate (`metrics.count`, `at`, ...). Requests authenticate with a token, never with a
session, so the API's URLs are exempt from `LoginRequiredMiddleware` and from CSRF. Lists are
paged the same way everywhere (`?limit=&offset=`, answered with `count`, `next`, `previous` and
`results`). The bearer tokens themselves are `confops.accounts.tokens`': this module knows no
model, so every app can build on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Annotated, Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Schema
from ninja.errors import (
    HttpError,
    ValidationError,
    ValidationErrorContext,
)
from ninja.operation import Operation
from ninja.parser import Parser
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from confops.common.field_errors import field_messages


class ErrorOut(Schema):
    """The body of every 4xx answer."""

    error: str
    fields: dict[str, str] | None = None


# Every status a token-protected operation can answer besides its success: the request did not
# validate (400), the token is missing or not accepted (401) or lacks the scope (403).
AUTH_ERRORS = frozenset({400, 401, 403})


class ApiError(HttpError):
    """An answer other than success, with an optional message per invalid field."""

    def __init__(
        self, status_code: int, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, message)
        self.fields = fields


JSON_TYPE = "application/json"


def require_json_type(request: HttpRequest) -> None:
    """A body must be declared JSON (`application/json`, with or without a charset): a 415
    otherwise, rather than guessing what a `text/plain` or form body meant."""
    if request.content_type != JSON_TYPE:
        raise ApiError(415, f"send the body as JSON, with Content-Type: {JSON_TYPE}")


def unencodable_text(data: Any) -> bool:
    """Whether parsed JSON holds text UTF-8 cannot encode: a lone surrogate such as `"\\ud800"`,
    which JSON allows and Python decodes, but no database, log or page can take."""
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


UNENCODABLE_MESSAGE = "text must be valid Unicode: a lone surrogate such as \\ud800 is not accepted"


class JsonBodyParser(Parser):
    """Every JSON body of the API is read here: it must be declared JSON (415 otherwise) and
    hold only text that can be stored (400 otherwise), so no operation meets either."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        require_json_type(request)
        data = json.loads(request.body)
        if unencodable_text(data):
            raise ApiError(400, UNENCODABLE_MESSAGE)
        return cast(dict[str, Any], data)


class ConfopsAPI(NinjaAPI):
    """NinjaAPI whose validation errors name the field inside the body, not ninja's wrapper, and
    whose schema says that every body may be refused for its size (413) or type (415)."""

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        error = super().validation_error_from_error_contexts(error_contexts)
        # A single body schema is validated as {param_name: body}; ninja keeps the param name in
        # `loc`, which would make clients read `report.metrics.count` for their `metrics.count`.
        single_attrs = {
            getattr(context.model, "__read_from_single_attr__", None) for context in error_contexts
        }
        for item in error.errors:
            loc = tuple(item["loc"])
            if loc[:1] == ("body",) and len(loc) > 1 and loc[1] in single_attrs:
                item["loc"] = loc[:1] + loc[2:]
        return error

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """``<app>_api_<function>`` whichever module of the app's API defines it: clients generate
        code from these ids, so splitting an API into modules must not rename its operations."""
        app = operation.view_func.__module__.split(".")[0]
        return f"{app}_api_{operation.view_func.__name__}"

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        error = {"description": "", "content": {JSON_TYPE: {"schema": ERROR_REF}}}
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                if "requestBody" in operation:
                    for status, why in BODY_REFUSALS.items():
                        operation["responses"].setdefault(status, {**error, "description": why})
        return schema


ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
# What any operation that takes a body may answer before reading it.
BODY_REFUSALS = {
    413: "The body is larger than the server accepts.",
    415: f"The body is not declared {JSON_TYPE}.",
}


api = ConfopsAPI(
    title="confops API",
    version="1",
    description=(
        "Rules, silences, alerts, sources, runbooks and reports of confops, and the push "
        "endpoint for jobs outside Dagster. Authenticate with `Authorization: Bearer <token>`; "
        "a token carries scopes (`read`, `operate`, `admin`; `admin` implies every other). "
        'Errors are `{"error": ..., "fields": {...}}`. See docs/api.md.'
    ),
    urls_namespace="api",
    openapi_url="/schema",
    docs_url="/docs",
    parser=JsonBodyParser(),
)


def error_response(
    request: HttpRequest, status: int, message: str, fields: dict[str, str] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="confops"'
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = field_messages(
        exc.errors,
        whole="body",
        not_a_field="is not a field of this request",
        not_an_object="must be a JSON object",  # no body, or not an object
        skip=1,  # ninja's "body"/"query"/"path" says where, not which field
    )
    return error_response(request, 400, f"invalid request ({', '.join(fields)})", fields)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiError):
        # ninja answers every parser error with its own 400 "Cannot parse request body"; the
        # parser's reason (a 415, text that cannot be stored) is the one a client can act on.
        exc = exc.__cause__
    fields = exc.fields if isinstance(exc, ApiError) else None
    return error_response(request, exc.status_code, exc.message, fields)


@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def _data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The last line of defence: a value the schema let through but the database cannot store or
    # compare (PostgreSQL refuses NUL characters and odd time zone offsets, SQLite integers past
    # 64 bits). The operation ran in its own transaction (`atomic_operation`), so nothing
    # half-done stays behind.
    return error_response(request, 400, "a value in this request cannot be stored or compared")


def atomic_operation(operation: Callable[..., Any]) -> Callable[..., Any]:
    """Each API operation is all or nothing: a write that fails half-way leaves no trace."""

    @wraps(operation)
    def run_atomically(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic():
            return operation(*args, **kwargs)

    return run_atomically


def refuse_nul_characters(view: Callable[..., Any]) -> Callable[..., Any]:
    """A NUL character in a body cannot be stored in PostgreSQL text; say so instead of failing
    later. Reading the body here is also where a body over Django's limit is refused: as the API's
    JSON 413, not Django's HTML 400."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            body = request.body
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return error_response(request, 413, f"the body is larger than {limit:,} bytes")
        # In the path or query string, `RefuseNulInQueryMiddleware` refused it already.
        if b"\\u0000" in body:
            return error_response(request, 400, "NUL characters are not accepted")
        return view(request, *args, **kwargs)

    return checked


api.add_decorator(atomic_operation)
api.add_decorator(refuse_nul_characters, mode="view")


# The widest offset in use on Earth is 14 h; PostgreSQL refuses anything past 15:59.
MAX_UTC_OFFSET = timedelta(hours=14)


def sane_moment(moment: datetime) -> datetime:
    """A time a person could mean: naive is UTC, an offset within ±14 h, years 1970 to 9998."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset() or timedelta(0)
    if abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("the UTC offset must be within ±14:00")
    if not 1970 <= moment.year <= 9998:
        raise ValueError("must be between 1970 and 9998")
    return moment.astimezone(UTC)


# Every time an API client sends goes through this type: `Moment | None = None` in a schema.
Moment = Annotated[datetime, AfterValidator(sane_moment)]


def query_bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, bool):
        return value
    raise PydanticCustomError("bool", "must be true or false")


# Booleans are what they say, in every schema: a body's are JSON `true` or `false` (`StrictBool`:
# "yes", 1 or "true" are refused, not read as true); a query's, all text, `true` or `false`.
QueryBool = Annotated[bool, BeforeValidator(query_bool)]


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, str(exc) or "not found")


def login_exempt_urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """`api.urls` with every view exempt from LoginRequiredMiddleware: an anonymous request
    gets the API's JSON 401, not a redirect to the login page; the schema and docs are public."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            login_not_required(pattern.callback)
    return patterns, app_name, namespace


# Pagination: one shape for every list.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000  # beyond any real list; keeps SQL's OFFSET in range


class PageQuery(Schema):
    """`?limit=&offset=`: at most `MAX_PAGE_SIZE` items per page."""

    limit: int = Field(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page (at most 200)."
    )
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


class PageOut(Schema):
    """A page of a list: the total `count`, and links to the `next` and `previous` pages."""

    count: int
    next: str | None
    previous: str | None


def paginate(
    request: HttpRequest, items: QuerySet[Any] | Sequence[Any], page: PageQuery
) -> tuple[list[Any], dict[str, Any]]:
    """The page's items, and `count`/`next`/`previous` for its body."""
    count = items.count() if isinstance(items, QuerySet) else len(items)
    end = page.offset + page.limit
    rows = list(items[page.offset : end])
    links = {
        "count": count,
        "next": page_link(request, end, page.limit) if end < count else None,
        "previous": page_link(request, max(0, page.offset - page.limit), page.limit)
        if page.offset > 0
        else None,
    }
    return rows, links


def page_link(request: HttpRequest, offset: int, limit: int) -> str:
    query = request.GET.copy()
    query["offset"], query["limit"] = str(offset), str(limit)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def get_or_404(items: QuerySet[Any], what: str, **lookup: Any) -> Any:
    """One object, or the API's 404 naming what was not found."""
    found: Model | None = items.filter(**lookup).first()
    if found is None:
        raise ApiError(404, f"no {what} {next(iter(lookup.values()), '')}".strip())
    return found


def invalid(exc: DjangoValidationError) -> ApiError:
    """A model's ``full_clean`` errors as a 400 with one message per field (as the admin's form
    shows them under each field); errors not tied to a field become the message."""
    if not hasattr(exc, "error_dict"):
        return ApiError(400, " ".join(exc.messages))
    fields = {name: " ".join(messages) for name, messages in exc.message_dict.items()}
    general = fields.pop(NON_FIELD_ERRORS, "")
    return ApiError(400, general or f"invalid request ({', '.join(fields)})", fields or None)
