"""Every page needs a login; the landing page lists the watched deployments."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.models import Deployment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/admin/", "/health/detailed"])
def test_pages_redirect_anonymous_visitors_to_the_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_login_page_is_public(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_a_viewer_sees_the_deployments_and_their_state(viewer_client: Client) -> None:
    Deployment.objects.create(
        name="confradar-local",
        graphql_url="http://127.0.0.1:3000/graphql",
        last_poll_at=timezone.now(),
        consecutive_failures=3,
        failing_since=timezone.now(),
        last_error="Dagster unreachable at http://127.0.0.1:3000/graphql",
    )
    response = viewer_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "confradar-local" in html and "unreachable" in html
    assert 'hx-trigger="every 5s"' in html


def test_htmx_refresh_gets_only_the_fragment(viewer_client: Client) -> None:
    Deployment.objects.create(name="edge", graphql_url="http://127.0.0.1:3000/graphql")
    response = viewer_client.get("/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "edge" in html and "not polled yet" in html
    assert "<html" not in html


def test_a_viewer_cannot_open_the_admin(viewer_client: Client) -> None:
    response = viewer_client.get("/admin/")
    assert response.status_code == 302
