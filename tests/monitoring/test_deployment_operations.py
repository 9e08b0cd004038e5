"""A deployment an operator declares goes through one audited door (monitoring.operations):
register_deployment and provisioning both call it; its token never reaches the trail."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import QuerySet
from django.test import Client
from django.utils import timezone

from confops.accounts.models import AuditEntry
from monitoring.models import Deployment
from monitoring.operations import save_deployment

pytestmark = pytest.mark.django_db
TOKEN = "agent:prod:0123456789abcdef"


def test_a_new_deployment_is_audited_with_its_token_masked() -> None:
    deployment = Deployment(
        name="prod",
        graphql_url="https://acme.dagster.cloud/prod/graphql",
        auth_header_name="Dagster-Cloud-Api-Token",
        auth_header_value=TOKEN,
    )
    save_deployment(deployment, None, timezone.now(), actor_label="test")
    entry = deployment_entries().get()
    assert (entry.action, entry.actor_label) == ("created", "test")
    assert entry.changes["graphql_url"][1] == "https://acme.dagster.cloud/prod/graphql"
    assert TOKEN not in str(entry.changes)


def test_saving_unchanged_records_nothing_and_a_new_token_is_recorded_masked() -> None:
    deployment = Deployment(name="prod", graphql_url="http://dagster.internal:3000/graphql")
    deployment.auth_header_value = "Bearer aaaa1234"
    save_deployment(deployment, None, timezone.now())
    save_deployment(deployment, None, timezone.now())
    assert deployment_entries().count() == 1
    deployment.auth_header_value = "Bearer bbbb1234"  # masks like the old one
    save_deployment(deployment, None, timezone.now())
    changed = deployment_entries().get(action="changed")
    assert list(changed.changes) == ["auth_header_value"]
    assert "bbbb" not in str(changed.changes)


def test_an_invalid_deployment_is_refused_and_not_saved() -> None:
    with pytest.raises(ValidationError, match="graphql_url"):
        save_deployment(Deployment(name="x", graphql_url="nope"), None, timezone.now())
    assert not Deployment.objects.exists()
    assert not deployment_entries().exists()


def test_register_deployment_goes_through_the_audited_door() -> None:
    call_command(
        "register_deployment", "prod", "http://dagster.internal:3000/graphql", "--interval=5"
    )
    entry = deployment_entries().get()
    assert entry.actor_label == "manage.py register_deployment"
    assert Deployment.objects.get().poll_interval_seconds == 5


def deployment_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(object_type="monitoring.Deployment")


def test_the_admin_saves_through_the_audited_door(admin_client: Client, admin_user: Any) -> None:
    data = {
        "name": "prod",
        "graphql_url": "https://dagster.example.com/graphql",
        "ui_url": "",
        "auth_header_name": "Authorization",
        "auth_header_value": "Bearer admin-typed-token-1234",
        "poll_interval_seconds": 10,
        "enabled": "on",
    }
    assert admin_client.post("/admin/monitoring/deployment/add/", data).status_code == 302
    entry = deployment_entries().get()
    assert (entry.action, entry.actor) == ("created", admin_user)
    assert "admin-typed-token" not in str(entry.changes)
