"""Pydantic's validation errors as one short message per field, for every place a person sees
them: the API's 400 answers, a channel's or a rule's form in the admin, a replay file's lines.

Pydantic says "Value error, must be positive" and "Extra inputs are not permitted"; a reader
wants "must be positive" and "is not a parameter of this rule kind". Each caller names what its
whole input is ("body", "config", "parameters") and what a stray key is not. Model-free: the
lowest layer every app may import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PREFIX = "Value error, "


def field_messages(
    errors: Iterable[Mapping[str, Any]],
    *,
    whole: str,
    not_a_field: str,
    not_an_object: str | None = None,
    skip: int = 0,
) -> dict[str, str]:
    """``{"metrics.n": "must be at least 0", ...}``: the first message pydantic gave per field.

    ``whole`` names an error about the input as a whole (no field in its location); when
    ``not_an_object`` is given, such an error (and unparsable JSON) reads that instead of
    pydantic's text, which would name our class. ``skip`` drops leading location parts that
    say where the input came from (django-ninja's ``"body"``, ``"query"``).
    """
    fields: dict[str, str] = {}
    for error in errors:
        where = field_path(tuple(error.get("loc", ())), whole, skip)
        fields.setdefault(where, message(error, where == whole, not_a_field, not_an_object))
    return fields


def field_path(loc: tuple[Any, ...], whole: str, skip: int = 0) -> str:
    """``("body", "metrics", "n", "[key]")`` with ``skip=1`` -> ``metrics.n``; an empty rest ->
    the skipped part (``body``, ``query``) or ``whole``."""
    parts = [str(part) for part in loc[skip:] if part != "[key]"]
    return ".".join(parts) or (str(loc[0]) if skip and loc else whole)


def message(
    error: Mapping[str, Any], at_whole: bool, not_a_field: str, not_an_object: str | None
) -> str:
    kind = error.get("type")
    if not_an_object is not None and (at_whole or kind == "json_invalid"):
        return not_an_object
    if kind == "extra_forbidden":
        return not_a_field
    if kind == "missing":
        return "is required"
    return str(error.get("msg", "invalid")).removeprefix(PREFIX)


def summary(fields: Mapping[str, str]) -> str:
    """``field: problem; field: problem`` (a problem with the whole input stands alone)."""
    return "; ".join(f"{where}: {text}" if where else text for where, text in fields.items())
