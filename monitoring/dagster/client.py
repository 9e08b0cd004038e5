"""The one seam through which confops talks to Dagster: GraphQL over ``requests``.

Facts that shape it (shared/dagster-graphql.md section 4g): Dagster answers errors with 200, 400
or 500 and a JSON body, so the body is parsed before the status is judged.

Whatever answers at the URL is not trusted: a request has a total deadline (a body dripped one
byte a second never trips a read timeout, so the body is read in small reads against a
monotonic clock) and a size cap, and any body that does not parse (not UTF-8, nested too deep
for the JSON decoder) is a ``DagsterMalformedResponse``, never another exception.
"""

from __future__ import annotations

import json
import re
import time
from functools import cache
from pathlib import Path
from typing import Any

import requests
import urllib3

from confops.common.secrets import without_userinfo
from monitoring.dagster.errors import (
    DagsterErrorUnion,
    DagsterGraphQLError,
    DagsterHTTPError,
    DagsterMalformedResponse,
    DagsterResponseTooLarge,
    DagsterUnreachable,
)

QUERIES_DIR = Path(__file__).parent / "queries"
ERROR_TYPENAMES = frozenset(
    {"PythonError", "RunNotFoundError", "PipelineNotFoundError", "InvalidPipelineRunsFilterError"}
)


# Defaults for callers without settings at hand; polling passes DAGSTER_REQUEST_TIMEOUT_SECONDS
# and DAGSTER_MAX_RESPONSE_MB.
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# One read returns what has arrived, up to this much: the deadline is checked between reads.
READ_CHUNK_BYTES = 64 * 1024

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
    """A GraphQL client for one deployment, reusing its HTTP connection between calls.

    ``timeout`` is the total time one request may take, connecting and reading included;
    ``max_response_bytes`` caps the (decompressed) body.
    """

    def __init__(
        self,
        graphql_url: str,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.graphql_url = graphql_url
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json", **(headers or {})})

    @property
    def display_url(self) -> str:
        """The URL as errors may quote it: requests sends the userinfo, messages never show it."""
        return without_userinfo(self.graphql_url)

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query and return its ``data``; raise a ``DagsterError`` for any failure."""
        deadline = time.monotonic() + self.timeout
        try:
            response = self.session.post(
                self.graphql_url,
                json={"query": query, "variables": variables or {}},
                timeout=self.timeout,
                stream=True,
            )
            with response:
                body = self.read_body(response, deadline)
        # A body read raises urllib3's own errors (read time-out, broken chunking, bad gzip).
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if time.monotonic() >= deadline:  # the last read was cut short by the deadline
                raise self.too_slow() from exc
            raise DagsterUnreachable(f"Dagster unreachable at {self.display_url}: {exc}") from exc
        return parse_response(response.status_code, body)

    def too_slow(self) -> DagsterUnreachable:
        return DagsterUnreachable(
            f"Dagster at {self.display_url} did not finish its answer within {self.timeout:g} s"
        )

    def read_body(self, response: requests.Response, deadline: float) -> bytes:
        """The body, read in small reads until the deadline or the size cap stops it."""
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise DagsterResponseTooLarge(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.too_slow()
            limit_next_read(response, remaining)
            chunk = response.raw.read1(READ_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise DagsterResponseTooLarge(limit)
            chunks.append(chunk)

    def version(self) -> str:
        data = self.execute(load_query("version"))
        version = data.get("version")
        if not isinstance(version, str):
            raise DagsterMalformedResponse(f"'version' is not a string: {version!r}")
        return version


def limit_next_read(response: requests.Response, remaining: float) -> None:
    """Let the next read wait no longer than the deadline allows (a silent server would
    otherwise hold it for the whole read timeout past the deadline)."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(remaining, 0.001))


def parse_response(status: int, raw: bytes | str) -> dict[str, Any]:
    """Turn an HTTP answer into GraphQL ``data`` or the most precise error."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        if status != 200:
            raise DagsterHTTPError(status, "(not UTF-8)") from None
        raise DagsterMalformedResponse("Response is not UTF-8 text") from None
    try:
        body = json.loads(text)
    except RecursionError:
        raise DagsterMalformedResponse("Response JSON is nested too deep") from None
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
    flat = " ".join(text[: limit * 4].split())  # a body may be megabytes: cut before splitting
    return flat if len(flat) <= limit else flat[:limit] + "…"
