"""Deployment secrets are stored once and never sent back to a browser in full."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from monitoring.models import Deployment
from tests.fixtures.personas import logged_in

pytestmark = pytest.mark.django_db
SECRET = "Bearer very-secret-token-9f8e7d"


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "prod",
        "graphql_url": "https://dagster.example.com/graphql",
        "ui_url": "",
        "auth_header_name": "Authorization",
        "auth_header_value": "",
        "poll_interval_seconds": 10,
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_the_change_page_shows_only_a_masked_secret(admin_client: Client) -> None:
    deployment = Deployment.objects.create(
        name="prod", graphql_url="https://d/graphql", auth_header_value=SECRET
    )
    html = admin_client.get(f"/admin/monitoring/deployment/{deployment.pk}/change/").content
    assert SECRET.encode() not in html
    assert b"very-secret" not in html
    assert "••••8e7d".encode() in html


def test_saving_with_a_blank_secret_keeps_the_stored_one(admin_client: Client) -> None:
    deployment = Deployment.objects.create(
        name="prod", graphql_url="https://d/graphql", auth_header_value=SECRET
    )
    response = admin_client.post(
        f"/admin/monitoring/deployment/{deployment.pk}/change/", form_data(poll_interval_seconds=30)
    )
    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.auth_header_value == SECRET and deployment.poll_interval_seconds == 30


def test_the_secret_can_be_cleared(admin_client: Client) -> None:
    deployment = Deployment.objects.create(
        name="prod", graphql_url="https://d/graphql", auth_header_value=SECRET
    )
    admin_client.post(
        f"/admin/monitoring/deployment/{deployment.pk}/change/",
        form_data(clear_auth_header_value="on"),
    )
    deployment.refresh_from_db()
    assert deployment.auth_header_value == ""


def test_a_zero_poll_interval_is_refused_with_a_message(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/monitoring/deployment/add/", form_data(poll_interval_seconds=0)
    )
    assert response.status_code == 200
    assert b"Ensure this value is greater than or equal to 1" in response.content
    assert not Deployment.objects.exists()


def test_a_view_only_operator_sees_the_auth_header_value_masked(operator_user: Any) -> None:
    """Django renders a read-only field from the raw value: a staff Operator (view_deployment)
    sees every field read-only."""
    operator_user.is_staff = True
    operator_user.save(update_fields=["is_staff"])
    client = logged_in(operator_user)
    deployment = Deployment.objects.create(
        name="prod", graphql_url="https://d/graphql", auth_header_value=SECRET
    )
    page = client.get(f"/admin/monitoring/deployment/{deployment.pk}/change/")
    assert page.status_code == 200 and "View deployment" in page.content.decode()
    assert b"very-secret" not in page.content and "••••8e7d".encode() in page.content
    assert b"very-secret" not in client.get("/admin/monitoring/deployment/").content


URL_WITH_PASSWORD = "https://scraper:pw-4a9c2e7b@dagster.example.com/graphql"


def test_the_change_form_shows_the_graphql_url_without_its_password(admin_client: Client) -> None:
    deployment = Deployment.objects.create(name="prod", graphql_url=URL_WITH_PASSWORD)
    html = admin_client.get(f"/admin/monitoring/deployment/{deployment.pk}/change/").content
    assert b"pw-4a9c2e7b" not in html and b"scraper:" not in html
    assert "https://••••@dagster.example.com/graphql".encode() in html


def test_saving_the_graphql_url_as_shown_keeps_its_credentials(admin_client: Client) -> None:
    deployment = Deployment.objects.create(name="prod", graphql_url=URL_WITH_PASSWORD)
    shown = "https://••••@dagster.example.com/graphql"
    response = admin_client.post(
        f"/admin/monitoring/deployment/{deployment.pk}/change/",
        form_data(graphql_url=shown, poll_interval_seconds=30),
    )
    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.graphql_url == URL_WITH_PASSWORD and deployment.poll_interval_seconds == 30
    admin_client.post(
        f"/admin/monitoring/deployment/{deployment.pk}/change/",
        form_data(graphql_url="https://other.example.com/graphql"),
    )
    deployment.refresh_from_db()
    assert deployment.graphql_url == "https://other.example.com/graphql"


def test_a_view_only_operator_sees_the_graphql_url_without_its_password(
    operator_user: Any,
) -> None:
    operator_user.is_staff = True
    operator_user.save(update_fields=["is_staff"])
    deployment = Deployment.objects.create(name="prod", graphql_url=URL_WITH_PASSWORD)
    page = logged_in(operator_user).get(f"/admin/monitoring/deployment/{deployment.pk}/change/")
    assert page.status_code == 200
    assert b"pw-4a9c2e7b" not in page.content
    assert "••••@dagster.example.com/graphql".encode() in page.content
