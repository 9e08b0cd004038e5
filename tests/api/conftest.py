"""Tokens of each scope, owned by named people, and a client that calls the API with one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken


@dataclass
class Api:
    """Calls /api/v1 with a bearer token (or none), JSON in and out, CSRF enforced."""

    client: Client
    token: str | None

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"/api/v1{path}"
        if method == "get":
            return self.client.get(url, query, headers=headers)
        data = "" if body is None else json.dumps(body)
        send = getattr(self.client, method)
        return send(url, data=data, content_type="application/json", headers=headers)

    def get(self, path: str, **query: Any) -> Any:
        return self.call("get", path, **query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("post", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.call("patch", path, body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.call("put", path, body)

    def delete(self, path: str) -> Any:
        return self.call("delete", path)


def token_for(user: Any, *scopes: str, name: str = "ci") -> tuple[ApiToken, str]:
    return ApiToken.issue(name, list(scopes), created_by=user)


@pytest.fixture
def admin_token(admin_persona: Any) -> tuple[ApiToken, str]:
    """Ada's token for the CI job that tunes thresholds."""
    return token_for(admin_persona, TokenScope.ADMIN, name="thresholds-ci")


@pytest.fixture
def operate_token(operator_user: Any) -> tuple[ApiToken, str]:
    """Otto's token for the on-call bot that acknowledges and silences."""
    return token_for(operator_user, TokenScope.READ, TokenScope.OPERATE, name="oncall-bot")


@pytest.fixture
def read_token(viewer_user: Any) -> tuple[ApiToken, str]:
    return token_for(viewer_user, TokenScope.READ, name="dashboard")


@pytest.fixture
def admin_api(admin_token: tuple[ApiToken, str]) -> Api:
    return Api(Client(enforce_csrf_checks=True), admin_token[1])


@pytest.fixture
def operator_api(operate_token: tuple[ApiToken, str]) -> Api:
    return Api(Client(enforce_csrf_checks=True), operate_token[1])


@pytest.fixture
def reader_api(read_token: tuple[ApiToken, str]) -> Api:
    return Api(Client(enforce_csrf_checks=True), read_token[1])


@pytest.fixture
def anonymous_api() -> Api:
    return Api(Client(enforce_csrf_checks=True), None)
