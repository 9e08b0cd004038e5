"""Dagster+ (Dagster Cloud): https://<org>.dagster.cloud/<deployment>/graphql with the
Dagster-Cloud-Api-Token header. A local stand-in answers 401 without the right token, as
Dagster+ does; the token never shows in what confops stores, logs or shows in the admin."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.utils import timezone

from monitoring.models import Deployment, PollRecord
from monitoring.polling import poll_deployment
from tests.fixtures.dagster_standin import TOKEN_HEADER, dagster_standin

pytestmark = pytest.mark.django_db
TOKEN = "user:a1b2c3d4e5f60718293a4b5c6d7e8f90"


def cloud_deployment(url: str, token: str) -> Deployment:
    return Deployment.objects.create(
        name="acme-prod",
        graphql_url=url,
        ui_url="https://acme.dagster.cloud/prod",
        auth_header_name=TOKEN_HEADER,
        auth_header_value=token,
    )


def test_a_poll_with_the_token_reads_the_deployment() -> None:
    with dagster_standin("/prod/graphql", token=TOKEN) as standin:
        deployment = cloud_deployment(standin.url, TOKEN)
        assert poll_deployment(deployment, timezone.now())
    deployment.refresh_from_db()
    assert deployment.is_reachable
    assert deployment.dagster_version == "1.13.27"
    assert standin.operations[:2] == ["Poll", "Discovery"]
    assert set(standin.tokens) == {TOKEN}


def test_a_wrong_token_is_a_failed_poll_that_never_shows_the_token(
    caplog: pytest.LogCaptureFixture, admin_persona_client: Any
) -> None:
    wrong = "user:ffffeeeeddddccccbbbbaaaa99998888"
    caplog.set_level(logging.DEBUG)
    with dagster_standin("/prod/graphql", token=TOKEN) as standin:
        deployment = cloud_deployment(standin.url, wrong)
        assert not poll_deployment(deployment, timezone.now())
    deployment.refresh_from_db()
    assert "401" in deployment.last_error
    record = PollRecord.objects.get()
    page = admin_persona_client.get(f"/admin/monitoring/deployment/{deployment.pk}/change/")
    assert page.status_code == 200
    shown = [deployment.last_error, record.error, caplog.text, page.content.decode()]
    assert not any(wrong in text or wrong[-20:] in text for text in shown)
