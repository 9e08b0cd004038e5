"""What every resource of the alerts API shares: the token scopes it checks, the error
sets it declares, the strict request body and who a change is recorded as."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from ninja import Schema
from pydantic import ConfigDict

from confops.accounts.choices import TokenScope
from confops.accounts.tokens import TokenAuth, request_token, token_label, token_owner
from confops.common.api import AUTH_ERRORS, ApiError
from monitoring.models import Source

read_auth = TokenAuth(TokenScope.READ)
operate_auth = TokenAuth(TokenScope.OPERATE)
admin_auth = TokenAuth(TokenScope.ADMIN)
NOT_FOUND = frozenset({*AUTH_ERRORS, 404})
CONFLICT = frozenset({*AUTH_ERRORS, 404, 409})
# Larger than any sensible count of minutes, small enough for every database's integer column.
MAX_INT = 2**31 - 1


class StrictIn(Schema):
    """A request body: unknown keys are refused with a message, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def actor(request: HttpRequest) -> tuple[Any, str]:
    """Who a change is recorded as: the token's owner, and the token itself."""
    token = request_token(request)
    return token_owner(token), token_label(token)


def by_name_or_id(model: Any, value: str | int, name_field: str, where: str, what: str) -> Any:
    """An object named by its name (a source: slug or key) or by its id; a 400 on ``where``
    otherwise."""
    text = str(value).strip()
    match = Q(**{name_field: text})
    if model is Source:
        match |= Q(key=text)
    if text.isdigit() and len(text) < 10:
        match |= Q(pk=int(text))
    found = model.objects.filter(match).order_by("pk").first()
    if found is None:
        raise ApiError(400, f"invalid request ({where})", {where: f"no {what} '{text}'"})
    return found


def api_link(request: HttpRequest, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(f"api:{name}", args=args))


def username(user: Any) -> str | None:
    return user.get_username() if user is not None else None
