"""A person logs in with a real browser and lands on the status page."""

from __future__ import annotations

from typing import Any

import pytest

from monitoring.models import Deployment
from tests.fixtures.browser import log_in
from tests.fixtures.personas import Persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_logs_in_and_sees_the_deployments(
    page: Any, operator_page_user: Persona
) -> None:
    Deployment.objects.create(name="confradar-local", graphql_url="http://127.0.0.1:3000/graphql")
    page.goto("/")
    assert "/accounts/login/" in page.url
    log_in(page, operator_page_user.username, operator_page_user.password)
    assert page.get_by_role("heading", name="confradar-local").is_visible()
