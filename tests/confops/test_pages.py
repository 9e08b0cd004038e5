"""Every page needs a login; the landing page is the status page, with every deployment."""

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


def test_a_user_without_a_role_may_not_see_the_status_page(outsider_client: Client) -> None:
    assert outsider_client.get("/").status_code == 403


def test_the_login_page_is_public(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_a_viewer_sees_the_deployments_and_their_state(viewer_user_client: Client) -> None:
    Deployment.objects.create(
        name="confradar-local",
        graphql_url="http://127.0.0.1:3000/graphql",
        last_poll_at=timezone.now(),
        consecutive_failures=3,
        failing_since=timezone.now(),
        last_error="Dagster unreachable at http://127.0.0.1:3000/graphql",
    )
    response = viewer_user_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "confradar-local" in html and "deployment unreachable" in html
    assert 'hx-trigger="every 15s"' in html


def test_htmx_refresh_gets_only_the_fragment(viewer_user_client: Client) -> None:
    Deployment.objects.create(name="edge", graphql_url="http://127.0.0.1:3000/graphql")
    response = viewer_user_client.get("/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "edge" in html and "deployment not polled yet" in html
    assert "<html" not in html


def test_a_viewer_cannot_open_the_admin(viewer_user_client: Client) -> None:
    response = viewer_user_client.get("/admin/")
    assert response.status_code == 302
