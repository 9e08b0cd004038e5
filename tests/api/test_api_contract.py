"""What the API accepts, said once for every operation: a body is JSON (415 otherwise), within
Django's size limit (a JSON 413 otherwise, not Django's HTML 400), holds only text that can be
stored (a lone surrogate is a 400, not a 500), and booleans are booleans ("yes" is not true)."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from django.test import Client
from django.utils import timezone
from pydantic import Strict

from alerts.models import AlertRule, Silence
from alerts.rules.base import all_kinds
from confops.accounts.choices import TokenScope
from confops.accounts.models import AuditEntry
from confops.common.api import api
from monitoring.choices import SourceKind
from monitoring.models import Run, Source
from reports.api import SendIn
from tests.alerts import factories
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db
LONE_SURROGATE = '"a\\ud800b"'  # as it travels in JSON: an escape JSON allows, UTF-8 cannot encode


@pytest.fixture
def pushed() -> Source:
    return Source.objects.create(kind=SourceKind.PUSHED, key="temporal_ingest", slug="ingest")


@pytest.fixture
def push_token(operator_user: Any) -> str:
    return token_for(operator_user, TokenScope.PUSH, name="temporal worker")[1]


def send(token: str, method: str, path: str, body: bytes | str, content_type: str) -> Any:
    call = getattr(Client(enforce_csrf_checks=True), method)
    return call(
        f"/api/v1{path}",
        data=body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def with_lone_surrogate(body: dict[str, Any], field: str) -> str:
    """The body as JSON, with a lone surrogate as the text of `field`."""
    return json.dumps({**body, field: "MARK"}).replace('"MARK"', LONE_SURROGATE)


def test_a_lone_surrogate_in_a_push_is_a_400_and_stores_nothing(
    pushed: Source, push_token: str
) -> None:
    body = with_lone_surrogate(
        {"at": timezone.now().isoformat(), "status": "failure"}, field="error"
    )

    response = send(push_token, "post", "/sources/ingest/runs", body, "application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "text must be valid Unicode: a lone surrogate such as \\ud800 is not accepted"
    }
    assert not Run.objects.exists()


def test_a_lone_surrogate_in_a_new_rule_is_a_400_and_stores_nothing(
    admin_token: tuple[Any, str],
) -> None:
    rules, audited = AlertRule.objects.count(), AuditEntry.objects.count()
    body = with_lone_surrogate(
        {"kind": "stale", "parameters": {"max_age_hours": 48}, "severity": "critical"},
        field="name",
    )

    response = send(admin_token[1], "post", "/rules", body, "application/json")

    assert response.status_code == 400
    assert "lone surrogate" in response.json()["error"]
    assert (AlertRule.objects.count(), AuditEntry.objects.count()) == (rules, audited)


def test_a_lone_surrogate_in_a_new_silence_is_a_400_and_stores_nothing(
    operate_token: tuple[Any, str],
) -> None:
    source = factories.source("elra_conferences")
    body = with_lone_surrogate({"source": source.slug, "duration_minutes": 60}, field="comment")

    response = send(operate_token[1], "post", "/silences", body, "application/json")

    assert response.status_code == 400
    assert "lone surrogate" in response.json()["error"]
    assert not Silence.objects.exists()


def test_a_body_over_the_limit_is_a_json_413(
    settings: Any, pushed: Source, push_token: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({"at": timezone.now().isoformat(), "status": "failure", "error": "x" * 2_000})

    response = send(push_token, "post", "/sources/ingest/runs", body, "application/json")

    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "the body is larger than 1,000 bytes"}
    assert not Run.objects.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_push_that_is_not_declared_json_is_a_415(
    pushed: Source, push_token: str, content_type: str
) -> None:
    body = json.dumps({"at": timezone.now().isoformat(), "status": "success"})

    response = send(push_token, "post", "/sources/ingest/runs", body, content_type)

    assert response.status_code == 415
    assert response.json() == {
        "error": "send the body as JSON, with Content-Type: application/json"
    }
    assert not Run.objects.exists()


def test_a_push_declared_json_with_a_charset_is_accepted(pushed: Source, push_token: str) -> None:
    body = json.dumps({"at": timezone.now().isoformat(), "status": "success"})

    response = send(
        push_token, "post", "/sources/ingest/runs", body, "application/json; charset=utf-8"
    )

    assert response.status_code == 201


def test_the_schema_documents_413_and_415_for_every_body(anonymous_api: Api) -> None:
    paths = anonymous_api.get("/schema").json()["paths"]

    with_body = [op for ops in paths.values() for op in ops.values() if "requestBody" in op]

    assert len(with_body) >= 8
    for operation in with_body:
        assert {"413", "415"} <= set(operation["responses"]), operation["operationId"]


@pytest.mark.parametrize("value", ["yes", "true", 1])
def test_force_must_be_a_json_boolean(operate_token: tuple[Any, str], value: Any) -> None:
    body = json.dumps({"date": "2020-01-01", "force": value})

    response = send(operate_token[1], "post", "/reports/daily/send", body, "application/json")

    assert response.status_code == 400
    assert "force" in response.json()["fields"]


def test_a_rule_is_not_switched_off_by_a_string(admin_api: Api) -> None:
    rule = AlertRule.objects.get(name="Stale (no success when expected)")
    assert rule.enabled

    response = admin_api.patch(f"/rules/{rule.pk}", {"enabled": "no"})

    assert response.status_code == 400
    assert "enabled" in response.json()["fields"]
    rule.refresh_from_db()
    assert rule.enabled


def test_a_rule_parameter_is_not_switched_off_by_a_string(admin_api: Api) -> None:
    rule = AlertRule.objects.get(name="Stale (no success when expected)")
    body = {"kind": "volume_drop", "parameters": {"seasonal": "no"}}

    response = admin_api.patch(f"/rules/{rule.pk}", body)

    assert response.status_code == 400
    assert "parameters.seasonal" in response.json()["fields"]


def test_a_source_is_not_paused_by_a_string(admin_api: Api) -> None:
    source = factories.source("elra_conferences")

    response = admin_api.patch(f"/sources/{source.slug}", {"paused": "yes"})

    assert response.status_code == 400
    assert "paused" in response.json()["fields"]
    source.refresh_from_db()
    assert not source.paused


@pytest.mark.parametrize(("value", "status"), [("true", 200), ("false", 200), ("yes", 400)])
def test_a_boolean_in_a_query_is_true_or_false(reader_api: Api, value: str, status: int) -> None:
    assert reader_api.get("/sources", gone=value).status_code == status
    assert reader_api.get("/rules", enabled=value).status_code == status


def test_every_boolean_in_a_body_is_strict() -> None:
    """A guard for schemas yet to come: a plain `bool` in a body reads "yes" as true."""
    schemas = [SendIn]  # read by hand: its body is optional
    schemas += [kind.params for kind in all_kinds().values()]  # a rule's `parameters`
    for _, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                schemas += [
                    schema
                    for model in operation.models
                    if model.__ninja_param_source__ == "body"
                    for wrapper in model.model_fields.values()  # ninja wraps the body's schema
                    for schema in (wrapper.annotation, *get_args(wrapper.annotation))
                    if hasattr(schema, "model_fields")
                ]

    lax = [
        f"{schema.__name__}.{name}"
        for schema in schemas
        for name, field in schema.model_fields.items()
        if field.annotation in (bool, bool | None)
        and not any(isinstance(m, Strict) for m in field.metadata)
    ]
    assert len(schemas) >= 8
    assert lax == []


@pytest.mark.parametrize("path", ["/silences", "/sources/ingest/runs"])
def test_a_nul_character_in_a_body_is_a_400_and_stores_nothing(
    path: str, operate_token: tuple[Any, str], pushed: Source, push_token: str
) -> None:
    """PostgreSQL text cannot hold NUL: it reached the database and was a 500 there."""
    if path == "/silences":
        token = operate_token[1]
        body = {"source": pushed.slug, "duration_minutes": 60, "comment": "a\x00b"}
    else:
        token = push_token
        body = {"at": timezone.now().isoformat(), "status": "failure", "error": "a\x00b"}

    response = send(token, "post", path, json.dumps(body), "application/json")

    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    assert not Silence.objects.exists() and not Run.objects.exists()
