"""POST /api/v1/sources/<slug>/runs through the real URL, middleware and token checks."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken
from monitoring.choices import RunAssetOutcome, RunStatus, SourceKind
from monitoring.models import AssetEvent, Deployment, Run, RunAsset, Source

pytestmark = pytest.mark.django_db
URL = "/api/v1/sources/temporal-ingest/runs"


@pytest.fixture
def source() -> Source:
    return Source.objects.create(
        kind=SourceKind.PUSHED, key="temporal_ingest", slug="temporal-ingest"
    )


@pytest.fixture
def owner(operator_user: Any) -> Any:
    """Otto set up the job's token; it acts for him."""
    return operator_user


@pytest.fixture
def token(source: Source, owner: Any) -> str:
    _, raw = ApiToken.issue("temporal worker", [TokenScope.PUSH], owner)
    return raw


@pytest.fixture
def api_client() -> Client:
    """A client that enforces CSRF like a browser would: bearer requests must not need it."""
    return Client(enforce_csrf_checks=True)


def ago(minutes: float) -> str:
    return (timezone.now() - timedelta(minutes=minutes)).isoformat()


def push(
    client: Client,
    body: dict[str, Any] | str,
    token: str | None,
    url: str = URL,
    authorization: str | None = None,
) -> Any:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers=headers)


def test_a_good_run_is_stored_with_its_metrics(
    api_client: Client, token: str, source: Source
) -> None:
    at = ago(1)
    body = {"at": at, "status": "success", "duration_s": 42.5, "metrics": {"count": 1234}}

    response = push(api_client, {**body, "run_id": "nightly-1"}, token)

    assert response.status_code == 201
    assert response.json() == {
        "run_id": "nightly-1",
        "status": "success",
        "created": True,
        "source": "temporal-ingest",
        "links": {},
    }
    run = Run.objects.get()
    assert (run.run_id, run.status, run.duration_s) == ("nightly-1", RunStatus.SUCCESS, 42.5)
    assert run.pushed_source == source and run.ended_at.isoformat() == at
    assert RunAsset.objects.get(run=run).outcome == RunAssetOutcome.MATERIALIZED
    assert AssetEvent.objects.get(run=run).metrics == {"count": 1234}
    source.refresh_from_db()
    assert source.last_status == RunStatus.SUCCESS and source.last_metrics == {"count": 1234}
    assert source.last_success_at == run.ended_at


def test_a_metric_named_with_spaces_is_stored_like_any_other(
    api_client: Client, token: str, source: Source
) -> None:
    body = {"at": ago(1), "status": "success", "metrics": {"Number of records": 12}}

    assert push(api_client, body, token).status_code == 201
    source.refresh_from_db()
    assert source.last_metrics == {"Number of records": 12}


def test_a_retry_with_the_same_run_id_is_stored_once(api_client: Client, token: str) -> None:
    body = {"run_id": "r-1", "at": ago(1), "status": "success", "metrics": {"count": 3}}

    first = push(api_client, body, token)
    retry = push(api_client, body, token)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["created"] is False and retry.json()["run_id"] == "r-1"
    assert Run.objects.count() == RunAsset.objects.count() == AssetEvent.objects.count() == 1


def test_start_then_success_completes_the_same_run(api_client: Client, token: str) -> None:
    started = push(api_client, {"run_id": "r-1", "event": "start", "at": ago(10)}, token)
    finished = push(
        api_client, {"run_id": "r-1", "event": "success", "at": ago(1), "metrics": {"n": 2}}, token
    )

    assert started.status_code == 201 and started.json()["status"] == "started"
    assert finished.status_code == 200
    assert finished.json()["status"] == "success" and finished.json()["created"] is False
    run = Run.objects.get()
    assert run.status == RunStatus.SUCCESS and 539 < (run.duration_s or 0) < 541


def test_a_start_alone_leaves_a_run_that_never_finished(api_client: Client, token: str) -> None:
    response = push(api_client, {"run_id": "r-1", "event": "start", "at": ago(90)}, token)

    assert response.status_code == 201
    run = Run.objects.get()
    assert run.status == RunStatus.STARTED and run.ended_at is None
    assert run.started_at is not None
    assert RunAsset.objects.get(run=run).outcome == RunAssetOutcome.PLANNED


def test_success_after_failure_is_a_conflict_that_changes_nothing(
    api_client: Client, token: str, source: Source
) -> None:
    push(api_client, {"run_id": "r-1", "at": ago(2), "status": "failure", "error": "503"}, token)

    response = push(api_client, {"run_id": "r-1", "at": ago(1), "status": "success"}, token)

    assert response.status_code == 409
    assert set(response.json()) == {"error"}
    assert "already finished with failure" in response.json()["error"]
    run = Run.objects.get()
    assert run.status == RunStatus.FAILURE and run.error_message == "503"
    source.refresh_from_db()
    assert source.last_success_at is None and not AssetEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"duration_s": -1}, "duration_s", "zero or more"),
        ({"metrics": {"count": True}}, "metrics.count", "must be a number"),
        ({"metrics": {"bad key!": 1}}, "metrics.bad key!", "letters, digits"),
        ({"at": "2026-11-01T02:00:00"}, "at", "needs a time zone"),
        ({"at": "FUTURE"}, "at", "more than 5 minutes in the future"),
        ({"status": "ok"}, "status", "'success' or 'failure'"),
        ({"event": "finish"}, "event", "'start', 'success' or 'failure'"),
        ({"run_id": "has space"}, "run_id", "letters, digits and . _ : -"),
        ({"status": "failure", "error": "x" * 10_001}, "error", "at most 10,000 characters"),
        ({"error": "boom"}, "error", "only accepted when the run failed"),
        ({"metric": {"count": 1}}, "metric", "not a field"),
    ],
)
def test_each_invalid_field_is_rejected_with_its_message(
    api_client: Client, token: str, change: dict[str, Any], field: str, message: str
) -> None:
    body: dict[str, Any] = {"at": ago(1), "status": "success", **change}
    if body["at"] == "FUTURE":
        body["at"] = (timezone.now() + timedelta(hours=1)).isoformat()

    response = push(api_client, body, token)

    assert response.status_code == 400
    assert message in response.json()["fields"][field]
    assert field in response.json()["error"]
    assert not Run.objects.exists()


def test_a_nan_metric_is_rejected(api_client: Client, token: str) -> None:
    body = '{"at": "2026-01-01T00:00:00Z", "status": "success", "metrics": {"count": NaN}}'

    response = push(api_client, body, token)

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "metrics.count": "must be a finite number (not NaN or infinity)"
    }


@pytest.mark.parametrize("body", ["", "not json", "[1, 2]"])
def test_a_body_that_is_no_json_object_is_rejected(
    api_client: Client, token: str, body: str
) -> None:
    response = push(api_client, body, token)

    assert response.status_code == 400
    assert response.json()["error"]
    assert not Run.objects.exists()


@pytest.fixture
def revoked_token(owner: Any) -> str:
    token, raw = ApiToken.issue("old", [TokenScope.PUSH], owner)
    token.revoke(timezone.now())
    return raw


@pytest.fixture
def expired_token(owner: Any) -> str:
    token, raw = ApiToken.issue("old", [TokenScope.PUSH], owner)
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()
    return raw


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "missing token"),
        ("Basic dXNlcjpwdw==", "malformed Authorization header"),
        ("Bearer", "malformed Authorization header"),
        ("Bearer not-a-confops-token", "malformed token"),
        ("Bearer cfo_00000000_unknown", "unknown token"),
        ("REVOKED", "token revoked"),
        ("EXPIRED", "token expired"),
    ],
)
def test_a_bad_token_is_unauthorized(
    api_client: Client,
    source: Source,
    revoked_token: str,
    expired_token: str,
    authorization: str | None,
    message: str,
) -> None:
    stand_ins = {"REVOKED": f"Bearer {revoked_token}", "EXPIRED": f"Bearer {expired_token}"}
    authorization = stand_ins.get(authorization or "", authorization)

    response = push(
        api_client, {"at": ago(1), "status": "success"}, None, authorization=authorization
    )

    assert response.status_code == 401
    assert message in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Run.objects.exists()


def test_an_anonymous_request_gets_json_not_a_login_redirect(
    api_client: Client, viewer: Any, source: Source
) -> None:
    anonymous = push(api_client, {"at": ago(1), "status": "success"}, None)
    api_client.force_login(viewer)
    with_session_only = push(api_client, {"at": ago(1), "status": "success"}, None)

    for response in (anonymous, with_session_only):
        assert response.status_code == 401
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {"error": "missing token: send 'Authorization: Bearer <token>'"}


def test_a_token_without_the_push_scope_is_forbidden(
    api_client: Client, source: Source, owner: Any
) -> None:
    _, raw = ApiToken.issue("reader", [TokenScope.READ], owner)

    response = push(api_client, {"at": ago(1), "status": "success"}, raw)

    assert response.status_code == 403
    assert response.json() == {"error": "token lacks the 'push' scope"}
    assert not Run.objects.exists()


def test_a_token_for_other_sources_is_forbidden(
    api_client: Client, source: Source, owner: Any
) -> None:
    other = Source.objects.create(kind=SourceKind.PUSHED, key="scraper", slug="scraper")
    _, raw = ApiToken.issue("scraper", [TokenScope.PUSH], owner, sources=[other])

    refused = push(api_client, {"at": ago(1), "status": "success"}, raw)
    allowed = push(
        api_client,
        {"at": ago(1), "status": "success"},
        raw,
        url=URL.replace("temporal-ingest", "scraper"),
    )

    assert refused.status_code == 403
    assert refused.json() == {"error": "this token may not report runs of 'temporal-ingest'"}
    assert allowed.status_code == 201
    assert list(Run.objects.values_list("pushed_source__slug", flat=True)) == ["scraper"]


def test_the_last_use_is_recorded_at_most_once_a_minute(
    api_client: Client, source: Source, owner: Any
) -> None:
    token, raw = ApiToken.issue("worker", [TokenScope.PUSH], owner)
    recently = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recently)

    push(api_client, {"at": ago(1), "status": "success"}, raw)
    token.refresh_from_db()
    assert token.last_used_at == recently

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recently - timedelta(minutes=1))
    push(api_client, {"at": ago(1), "status": "success"}, raw)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > recently


def test_an_unknown_slug_is_not_found(api_client: Client, token: str) -> None:
    response = push(
        api_client, {"at": ago(1), "status": "success"}, token, url="/api/v1/sources/nope/runs"
    )

    assert response.status_code == 404
    assert response.json() == {"error": "no source with slug 'nope'"}


def test_a_source_observed_in_dagster_is_not_found(api_client: Client, token: str) -> None:
    deployment = Deployment.objects.create(name="prod", graphql_url="https://d/graphql")
    Source.objects.create(
        deployment=deployment, kind=SourceKind.ASSET, key="elra_conferences", slug="elra"
    )

    response = push(
        api_client, {"at": ago(1), "status": "success"}, token, url="/api/v1/sources/elra/runs"
    )

    assert response.status_code == 404
    assert "observed in Dagster, not pushed" in response.json()["error"]
    assert not Run.objects.exists()


def test_the_schema_lists_the_endpoint_with_its_request_body(client: Client) -> None:
    response = client.get("/api/v1/schema")

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/sources/{slug}/runs"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"at", "status", "event", "run_id", "duration_s", "metrics", "error"} <= set(
        body["properties"]
    )
    assert body["required"] == ["at"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_no_script_or_style_from_a_cdn(client: Client) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html) == []
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert finders.find("ninja/swagger-ui-bundle.js") is not None


def test_a_token_stops_working_when_its_owner_is_deactivated(
    api_client: Client, source: Source, token: str, owner: Any
) -> None:
    owner.is_active = False
    owner.save()

    response = push(api_client, {"at": ago(1), "status": "success"}, token)

    assert response.status_code == 401
    assert response.json() == {"error": "token's owner is deactivated or deleted"}
    assert not Run.objects.exists()


def test_a_token_without_an_owner_is_unauthorized(api_client: Client, source: Source) -> None:
    _, raw = ApiToken.issue("made by an old command", [TokenScope.PUSH], None)

    response = push(api_client, {"at": ago(1), "status": "success"}, raw)

    assert response.status_code == 401
    assert response.json() == {"error": "token's owner is deactivated or deleted"}
    assert not Run.objects.exists()


def limited_token(owner: Any, *sources: Source) -> str:
    _, raw = ApiToken.issue("scraper", [TokenScope.PUSH], owner, sources=list(sources))
    return raw


def test_a_limited_token_cannot_tell_an_unknown_slug_from_a_forbidden_one(
    api_client: Client, source: Source, owner: Any
) -> None:
    other = Source.objects.create(kind=SourceKind.PUSHED, key="scraper", slug="scraper")
    raw = limited_token(owner, other)
    report = {"at": ago(1), "status": "success"}

    forbidden = push(api_client, report, raw)
    unknown = push(api_client, report, raw, url="/api/v1/sources/nope/runs")

    assert (forbidden.status_code, unknown.status_code) == (403, 403)
    assert unknown.json() == {"error": "this token may not report runs of 'nope'"}
    assert forbidden.json() == {"error": "this token may not report runs of 'temporal-ingest'"}
    assert not Run.objects.exists()
