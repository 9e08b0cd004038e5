"""Typed errors of the Dagster GraphQL client: callers record them, they never crash a poll."""

from __future__ import annotations


class DagsterError(Exception):
    """Base of everything the client raises; ``str()`` is a one-line summary fit for the UI."""


class DagsterUnreachable(DagsterError):
    """No HTTP answer: connection refused, DNS failure or time-out."""


class DagsterHTTPError(DagsterError):
    """An HTTP status that is not 200 and carries no usable GraphQL body."""

    def __init__(self, status: int, body_excerpt: str) -> None:
        super().__init__(f"HTTP {status} from Dagster: {body_excerpt}")
        self.status = status
        self.body_excerpt = body_excerpt


class DagsterGraphQLError(DagsterError):
    """The response has a top-level ``errors`` list (bad query, resolver exception)."""

    def __init__(self, messages: list[str], status: int) -> None:
        super().__init__(f"GraphQL error (HTTP {status}): {'; '.join(messages)[:500]}")
        self.messages = messages
        self.status = status


class DagsterMalformedResponse(DagsterError):
    """Not JSON, or JSON without the shape the query asks for."""


class DagsterErrorUnion(DagsterError):
    """A ``...OrError`` field answered with an error member such as ``PythonError``."""

    def __init__(self, typename: str, message: str) -> None:
        super().__init__(f"{typename}: {message[:500]}")
        self.typename = typename
        self.message = message


class DagsterResponseTooLarge(DagsterMalformedResponse):
    """The body is larger than DAGSTER_MAX_RESPONSE_MB allows: not read further."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Response larger than {limit / 1024 / 1024:g} MB, not read")
        self.limit = limit
