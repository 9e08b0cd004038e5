"""Bearer-token authentication of the JSON API: which token a request carries, whether it is
accepted (401 says why not, 403 that it lacks the scope), and how a change made with it is
audited (as its owner, labelled with the token)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import HttpBearer

from confops.accounts.models import TOKEN_PREFIX, ApiToken

# `last_used_at` is written at most this often per token: a busy job must not turn every push
# into two writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <ApiToken>` carrying `scope`: 401 says why a token is not accepted
    (missing, malformed, unknown, revoked, expired, its owner gone), 403 that it lacks the
    scope."""

    openapi_description = "An API token created in the admin (Accounts → API tokens)."

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
        if not api_token.owner_is_active():
            # A token acts for its owner: one who left (deactivated or deleted) takes it along.
            raise AuthenticationError(message="token's owner is deactivated or deleted")
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


def token_label(token: ApiToken) -> str:
    """How an audit entry names the token a change was made with."""
    return f"API token {token.name} ({token.prefix}…)"


def token_owner(token: ApiToken) -> Any:
    """The person a change made with the token is recorded as: the one who created it (always
    there: `TokenAuth` refuses a token whose owner is gone or deactivated)."""
    return token.created_by
