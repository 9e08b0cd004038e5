"""The JSON API (`/api/v1/`): one NinjaAPI for every app, one error body, bearer-token auth.

Apps add a ninja `Router` each (mounted in `confops/urls.py`). Every 4xx answer has the same
body, `{"error": "<message>"}`, plus `"fields": {"<path>": "<message>"}` when the request did
not validate (`metrics.count`, `at`, ...). Requests authenticate with an `ApiToken`, never with a
session, so the API's URLs are exempt from `LoginRequiredMiddleware` and from CSRF.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import (
    AuthenticationError,
    AuthorizationError,
    HttpError,
    ValidationError,
    ValidationErrorContext,
)
from ninja.security import HttpBearer

from monitoring.models import TOKEN_PREFIX, ApiToken

# `last_used_at` is written at most this often per token: a busy job must not turn every push
# into two writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ErrorOut(Schema):
    """The body of every 4xx answer."""

    error: str
    fields: dict[str, str] | None = None


class ApiError(HttpError):
    """An answer other than success, with an optional message per invalid field."""

    def __init__(
        self, status_code: int, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, message)
        self.fields = fields


class ConfopsAPI(NinjaAPI):
    """NinjaAPI whose validation errors name the field inside the body, not ninja's wrapper."""

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


api = ConfopsAPI(
    title="confops API",
    version="1",
    description="Report runs of jobs outside Dagster; more of the portal follows.",
    urls_namespace="api",
    openapi_url="/schema",
    docs_url="/docs",
)


def field_path(loc: tuple[Any, ...]) -> str:
    """`("body", "metrics", "n", "[key]")` -> `metrics.n`; a bare `("body",)` -> `body`."""
    parts = [str(part) for part in loc[1:] if part != "[key]"]
    return ".".join(parts) or str(loc[0] if loc else "body")


def field_messages(errors: list[dict[str, Any]]) -> dict[str, str]:
    """One message per field (the first one pydantic gave), without pydantic's prefixes."""
    fields: dict[str, str] = {}
    for item in errors:
        path = field_path(tuple(item.get("loc", ())))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if path == "body":  # no body, or not an object: pydantic would name our class
            message = "must be a JSON object"
        elif item.get("type") == "extra_forbidden":
            message = "is not a field of this request"
        fields.setdefault(path, message)
    return fields


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
    fields = field_messages(exc.errors)
    return error_response(request, 400, f"invalid request ({', '.join(fields)})", fields)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    fields = exc.fields if isinstance(exc, ApiError) else None
    return error_response(request, exc.status_code, exc.message, fields)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, str(exc) or "not found")


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <ApiToken>` carrying `scope`: 401 says why a token is not accepted
    (missing, malformed, unknown, revoked, expired), 403 that it lacks the scope."""

    openapi_description = "An API token created in the admin (Monitoring → Api tokens)."

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest) -> ApiToken:
        header = request.headers.get(self.header, "")
        if not header.strip():
            raise AuthenticationError(message="missing token: send 'Authorization: Bearer <token>'")
        scheme, _, raw = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationError(
                message="malformed Authorization header: expected 'Bearer <token>'"
            )
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        if not token.startswith(TOKEN_PREFIX):
            raise AuthenticationError(message=f"malformed token: tokens start with {TOKEN_PREFIX}")
        api_token = ApiToken.find(token)
        if api_token is None:
            raise AuthenticationError(message="unknown token")
        now = timezone.now()
        if api_token.revoked_at is not None:
            raise AuthenticationError(message="token revoked")
        if not api_token.is_active(now):
            raise AuthenticationError(message="token expired")
        note_use(api_token, now)
        if not api_token.has_scope(self.scope):
            raise AuthorizationError(message=f"token lacks the '{self.scope}' scope")
        return api_token


def note_use(token: ApiToken, now: datetime) -> None:
    """Record that the token was used, at most once per `LAST_USED_RESOLUTION`."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def request_token(request: HttpRequest) -> ApiToken:
    """The token `TokenAuth` accepted for this request."""
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, ApiToken)
    return token


def login_exempt_urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """`api.urls` with every view exempt from LoginRequiredMiddleware: an anonymous request
    gets the API's JSON 401, not a redirect to the login page; the schema and docs are public."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            login_not_required(pattern.callback)
    return patterns, app_name, namespace
