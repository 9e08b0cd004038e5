"""The Dagster client turns every kind of bad answer into a typed, readable error.

A local HTTP server plays a broken Dagster: the answers are the shapes documented in
shared/dagster-graphql.md section 4g, sent over real HTTP.
"""

from __future__ import annotations

import pytest

from monitoring.dagster.client import DagsterClient
from monitoring.dagster.errors import (
    DagsterErrorUnion,
    DagsterGraphQLError,
    DagsterHTTPError,
    DagsterMalformedResponse,
    DagsterUnreachable,
)
from tests.fixtures.dagster import free_port
from tests.fixtures.http import HttpResponder


def client_for(responder: HttpResponder, **kwargs: object) -> DagsterClient:
    return DagsterClient(f"{responder.url}/graphql", **kwargs)  # type: ignore[arg-type]


def test_it_returns_the_data_of_a_good_answer(http_responder: HttpResponder) -> None:
    http_responder.respond(200, '{"data": {"version": "1.13.27"}}')
    assert client_for(http_responder).version() == "1.13.27"


def test_it_sends_the_auth_header(http_responder: HttpResponder) -> None:
    http_responder.respond(200, '{"data": {"version": "1.13.27"}}')
    client_for(http_responder, headers={"Authorization": "Bearer t0k"}).version()
    assert http_responder.requests[0].headers["Authorization"] == "Bearer t0k"


def test_a_closed_port_is_unreachable() -> None:
    client = DagsterClient(f"http://127.0.0.1:{free_port()}/graphql", timeout=2)
    with pytest.raises(DagsterUnreachable, match="unreachable"):
        client.version()


def test_a_slow_answer_times_out_as_unreachable(http_responder: HttpResponder) -> None:
    http_responder.respond(200, '{"data": {"version": "x"}}', delay_s=2)
    with pytest.raises(DagsterUnreachable):
        client_for(http_responder, timeout=0.3).version()


def test_an_html_error_page_is_an_http_error(http_responder: HttpResponder) -> None:
    http_responder.respond(502, "<html><body>Bad gateway</body></html>", content_type="text/html")
    with pytest.raises(DagsterHTTPError, match="HTTP 502") as caught:
        client_for(http_responder).version()
    assert caught.value.status == 502


def test_html_with_status_200_is_malformed(http_responder: HttpResponder) -> None:
    http_responder.respond(200, "<html>login</html>", content_type="text/html")
    with pytest.raises(DagsterMalformedResponse, match="not JSON"):
        client_for(http_responder).version()


def test_truncated_json_is_malformed(http_responder: HttpResponder) -> None:
    http_responder.respond(200, '{"data": {"version": "1.1')
    with pytest.raises(DagsterMalformedResponse):
        client_for(http_responder).version()


def test_graphql_errors_carry_their_messages(http_responder: HttpResponder) -> None:
    body = (
        '{"data": null, "errors": [{"message": "Cannot query field \'bogus\' on type \'Run\'."}]}'
    )
    http_responder.respond(400, body)
    with pytest.raises(DagsterGraphQLError, match="Cannot query field 'bogus'") as caught:
        client_for(http_responder).execute("{ bogus }")
    assert caught.value.status == 400


def test_a_python_error_member_is_raised_with_its_type(http_responder: HttpResponder) -> None:
    body = '{"data": {"runsOrError": {"__typename": "PythonError", "message": "boom"}}}'
    http_responder.respond(500, body)
    with pytest.raises(DagsterErrorUnion, match="PythonError: boom") as caught:
        client_for(http_responder).execute("{ runsOrError { __typename } }")
    assert caught.value.typename == "PythonError"


@pytest.mark.parametrize("body", ["[1, 2]", '{"data": {"version": 7}}', '{"nothing": true}'])
def test_unexpected_shapes_are_malformed(http_responder: HttpResponder, body: str) -> None:
    http_responder.respond(200, body)
    with pytest.raises(DagsterMalformedResponse):
        client_for(http_responder).version()
