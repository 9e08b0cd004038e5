"""The one seam through which confops talks to Dagster: GraphQL over ``requests``.

Facts that shape it (shared/dagster-graphql.md section 4g): Dagster answers errors with 200, 400
or 500 and a JSON body, so the body is parsed before the status is judged.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import requests

from monitoring.dagster.errors import (
    DagsterErrorUnion,
    DagsterGraphQLError,
    DagsterHTTPError,
    DagsterMalformedResponse,
    DagsterUnreachable,
)

QUERIES_DIR = Path(__file__).parent / "queries"
ERROR_TYPENAMES = frozenset(
    {"PythonError", "RunNotFoundError", "PipelineNotFoundError", "InvalidPipelineRunsFilterError"}
)


FRAGMENTS_DIR = QUERIES_DIR / "fragments"
FRAGMENT_SPREAD = re.compile(r"\.\.\.([A-Z]\w*)")


@cache
def load_query(name: str) -> str:
    """The text of ``queries/<name>.graphql`` with the shared fragments it spreads appended."""
    text = (QUERIES_DIR / f"{name}.graphql").read_text()
    for fragment in sorted(set(FRAGMENT_SPREAD.findall(text))):
        path = FRAGMENTS_DIR / f"{fragment}.graphql"
        if path.exists() and f"fragment {fragment} " not in text:
            text += "\n" + path.read_text()
    return text


class DagsterClient:
    """A GraphQL client for one deployment, reusing its HTTP connection between calls."""

    def __init__(
        self,
        graphql_url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.graphql_url = graphql_url
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json", **(headers or {})})

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query and return its ``data``; raise a ``DagsterError`` for any failure."""
        try:
            response = self.session.post(
                self.graphql_url,
                json={"query": query, "variables": variables or {}},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise DagsterUnreachable(f"Dagster unreachable at {self.graphql_url}: {exc}") from exc
        return parse_response(response.status_code, response.text)

    def version(self) -> str:
        data = self.execute(load_query("version"))
        version = data.get("version")
        if not isinstance(version, str):
            raise DagsterMalformedResponse(f"'version' is not a string: {version!r}")
        return version


def parse_response(status: int, text: str) -> dict[str, Any]:
    """Turn an HTTP answer into GraphQL ``data`` or the most precise error."""
    try:
        body = json.loads(text)
    except ValueError:
        if status != 200:
            raise DagsterHTTPError(status, excerpt(text)) from None
        raise DagsterMalformedResponse(f"Response is not JSON: {excerpt(text)}") from None
    if not isinstance(body, dict):
        raise DagsterMalformedResponse(f"Response is not a JSON object: {excerpt(text)}")
    errors = body.get("errors")
    if errors:
        raise DagsterGraphQLError(error_messages(errors), status)
    data = body.get("data")
    if not isinstance(data, dict):
        if status != 200:
            raise DagsterHTTPError(status, excerpt(text))
        raise DagsterMalformedResponse(f"Response has no 'data' object: {excerpt(text)}")
    raise_error_unions(data)
    return data


def raise_error_unions(data: dict[str, Any]) -> None:
    """Raise for the first top-level field answered by an error member of its union."""
    for value in data.values():
        if isinstance(value, dict) and value.get("__typename") in ERROR_TYPENAMES:
            raise DagsterErrorUnion(value["__typename"], str(value.get("message", "")))


def error_messages(errors: object) -> list[str]:
    if not isinstance(errors, list):
        return [excerpt(str(errors))]
    return [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]


def excerpt(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
