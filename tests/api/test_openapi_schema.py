"""Every documented endpoint (docs/api.md lists the same) is in the OpenAPI schema served at
/api/v1/schema, with its methods, a summary, tags and its error body; the docs page is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DOCUMENTED: dict[str, set[str]] = {
    "/api/v1/rules": {"get", "post"},
    "/api/v1/rules/{rule_id}": {"get", "patch", "delete"},
    "/api/v1/rules/{rule_id}/enable": {"post"},
    "/api/v1/rules/{rule_id}/disable": {"post"},
    "/api/v1/channel-kinds": {"get"},
    "/api/v1/channels": {"get", "post"},
    "/api/v1/channels/{channel_id}": {"get", "patch", "delete"},
    "/api/v1/channels/{channel_id}/test": {"post"},
    "/api/v1/alerts": {"get"},
    "/api/v1/alerts/{alert_id}": {"get"},
    "/api/v1/alerts/{alert_id}/acknowledge": {"post"},
    "/api/v1/alerts/{alert_id}/unacknowledge": {"post"},
    "/api/v1/alerts/{alert_id}/resolve": {"post"},
    "/api/v1/incidents": {"get"},
    "/api/v1/incidents/{incident_id}": {"get"},
    "/api/v1/incidents/{incident_id}/acknowledge": {"post"},
    "/api/v1/incidents/{incident_id}/unacknowledge": {"post"},
    "/api/v1/silences": {"get", "post"},
    "/api/v1/silences/{silence_id}": {"get"},
    "/api/v1/silences/{silence_id}/expire": {"post"},
    "/api/v1/sources": {"get"},
    "/api/v1/sources/{slug}": {"get", "patch"},
    "/api/v1/sources/{slug}/volume-metric": {"put"},
    "/api/v1/sources/{slug}/overrides/{rule_id}": {"put", "delete"},
    "/api/v1/sources/{slug}/runs": {"post"},
    "/api/v1/runbooks": {"get"},
    "/api/v1/runbooks/{slug}": {"get"},
    "/api/v1/reports/daily/latest": {"get"},
    "/api/v1/reports/daily/{date}": {"get"},
    "/api/v1/reports/daily/send": {"post"},
}
API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture
def schema(client: Client) -> dict:
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    return response.json()


def normalised(path: str) -> str:
    """`{day}` and `{date}` name the same thing: compare paths by their shape."""
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


@pytest.mark.parametrize("path", sorted(DOCUMENTED))
def test_every_documented_endpoint_is_in_the_schema_with_its_methods(
    schema: dict, path: str
) -> None:
    paths = {normalised(p): ops for p, ops in schema["paths"].items()}

    assert normalised(path) in paths, sorted(schema["paths"])
    assert set(paths[normalised(path)]) >= DOCUMENTED[path]


def test_every_operation_has_a_summary_tags_and_declares_its_error_body(schema: dict) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary") and operation.get("tags"), where
            errors = [code for code in operation["responses"] if code.startswith("4")]
            assert "401" in errors and "403" in errors, where
            for code in errors:
                body = operation["responses"][code]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorOut"}, where


def test_every_endpoint_in_the_schema_is_documented_in_docs_api_md(schema: dict) -> None:
    text = API_DOC.read_text(encoding="utf-8")
    in_docs = {normalised(p) for p in DOCUMENTED if f"`{p.removeprefix('/api/v1')}`" in text}

    assert in_docs == {normalised(p) for p in DOCUMENTED}
    assert {normalised(p) for p in schema["paths"]} <= in_docs


def test_the_interactive_docs_are_served(client: Client) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200 and b"/api/v1/schema" in response.content
