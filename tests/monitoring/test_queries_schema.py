"""Every .graphql query is valid against the schema of the installed dagster-graphql, so a
Dagster upgrade that breaks a query fails here instead of in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring.dagster.client import QUERIES_DIR, load_query

QUERY_FILES = sorted(QUERIES_DIR.glob("*.graphql"))


@pytest.fixture(scope="module")
def dagster_schema():  # type: ignore[no-untyped-def]
    graphql = pytest.importorskip("graphql")
    schema_module = pytest.importorskip("dagster_graphql.schema")
    return graphql.build_schema(str(schema_module.create_schema()))


def test_there_are_queries_to_check() -> None:
    assert QUERY_FILES


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_the_query_validates(dagster_schema, path: Path) -> None:  # type: ignore[no-untyped-def]
    from graphql import parse, validate

    errors = validate(dagster_schema, parse(load_query(path.stem)))
    assert errors == [], [e.message for e in errors]


def test_a_broken_query_would_be_caught(dagster_schema) -> None:  # type: ignore[no-untyped-def]
    from graphql import parse, validate

    errors = validate(dagster_schema, parse("query { version bogusField }"))
    assert errors and "bogusField" in errors[0].message
