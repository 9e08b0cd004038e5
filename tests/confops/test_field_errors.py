"""One converter from pydantic's errors to per-field messages (confops/common/field_errors.py),
used by
the API, the daily report's send endpoint, channel configs, rule parameters and replay lines."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from confops.common.field_errors import field_messages, summary


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    retries: int = Field(default=1, ge=0)
    tags: dict[str, int] = {}

    @field_validator("url")
    @classmethod
    def https_only(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must start with https://")
        return value


def errors(raw: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        Config.model_validate(raw)
    return [dict(e) for e in caught.value.errors()]


def messages(raw: Any, **options: Any) -> dict[str, str]:
    return field_messages(errors(raw), whole="config", not_a_field="is not a setting", **options)


def test_each_field_gets_a_plain_message_without_pydantic_prefixes() -> None:
    found = messages({"url": "http://x", "retries": -1, "colour": "red"})
    assert found == {
        "url": "must start with https://",
        "retries": "Input should be greater than or equal to 0",
        "colour": "is not a setting",
    }


def test_a_missing_field_is_required() -> None:
    assert messages({}) == {"url": "is required"}


def test_a_nested_key_is_named_by_its_path() -> None:
    assert list(messages({"url": "https://x", "tags": {"a": "x"}})) == ["tags.a"]


def test_an_input_that_is_not_an_object_reads_as_such_when_the_caller_says_so() -> None:
    assert messages([1], not_an_object="must be a JSON object") == {
        "config": "must be a JSON object"
    }
    assert "config" in messages([1])  # pydantic's own text otherwise


def test_a_source_prefix_is_skipped_but_names_the_whole_input() -> None:
    located = [
        {"loc": ("body", "url"), "msg": "x", "type": "missing"},
        {"loc": ("body",), "msg": "y"},
    ]
    fields = field_messages(
        located, whole="body", not_a_field="-", not_an_object="must be a JSON object", skip=1
    )
    assert fields == {"url": "is required", "body": "must be a JSON object"}


def test_the_first_message_per_field_wins_and_a_summary_joins_them() -> None:
    two = [{"loc": ("a",), "msg": "first", "type": "t"}, {"loc": ("a",), "msg": "second"}]
    fields = field_messages(two, whole="", not_a_field="-")
    assert fields == {"a": "first"}
    assert summary({"a": "first", "": "whole input bad"}) == "a: first; whole input bad"
