"""Roles: the Viewer, Operator and Admin groups, made by a migration, with what each may do;
every action checked on the server, and CSRF protection on every POST."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from alerts.models import Runbook
from confops.accounts.roles import ADMIN, OPERATOR, VIEWER, create_roles
from tests.alerts import factories as f
from tests.alerts.incidents import incident

pytestmark = pytest.mark.django_db


def codenames(group: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related("content_type")
    }


def test_the_three_roles_exist_after_migrate() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {VIEWER, OPERATOR, ADMIN}


def test_a_viewer_reads_monitoring_and_alerts_and_changes_nothing() -> None:
    viewer = codenames(VIEWER)
    assert {"alerts.view_alert", "alerts.view_silence", "alerts.view_runbook"} <= viewer
    assert {"monitoring.view_source", "monitoring.view_run", "monitoring.view_deployment"} <= viewer
    assert all(".view_" in name for name in viewer)
    assert "accounts.view_apitoken" not in viewer  # tokens are an admin's business


def test_an_operator_also_acknowledges_silences_edits_runbooks_and_reexecutes() -> None:
    operator = codenames(OPERATOR)
    assert codenames(VIEWER) <= operator
    assert {
        "alerts.acknowledge_alert",
        "alerts.resolve_alert",
        "alerts.silence_alert",
        "alerts.reexecute_run",
        "alerts.add_silence",
        "alerts.change_silence",
        "alerts.add_runbook",
        "alerts.change_runbook",
    } <= operator
    assert "alerts.change_alertrule" not in operator
    assert "alerts.change_channel" not in operator
    assert "monitoring.change_deployment" not in operator


def test_an_admin_has_every_permission_of_accounts_alerts_monitoring_reports_and_beat() -> None:
    expected = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(
            content_type__app_label__in=[
                "accounts",
                "alerts",
                "monitoring",
                "reports",
                "django_celery_beat",
            ]
        ).select_related("content_type")
    }
    admin = codenames(ADMIN)
    assert admin == expected
    assert {
        "alerts.change_alertrule",
        "alerts.change_channel",
        "monitoring.change_deployment",
        "accounts.add_apitoken",
        "django_celery_beat.change_periodictask",
    } <= admin


def test_the_migration_creates_missing_permissions_and_can_run_twice() -> None:
    """On a fresh database the permissions do not exist yet when the data migration runs."""
    Group.objects.filter(name__in=[VIEWER, OPERATOR, ADMIN]).delete()
    Permission.objects.filter(content_type__app_label__in=["alerts", "monitoring"]).delete()
    migration = importlib.import_module("alerts.migrations.0005_roles")
    state = MigrationExecutor(connection).loader.project_state(("alerts", "0005_roles"))
    migration.create_role_groups(state.apps, None)
    migration.create_role_groups(state.apps, None)
    assert "alerts.acknowledge_alert" in codenames(OPERATOR)
    assert "monitoring.view_source" in codenames(VIEWER)
    assert Group.objects.filter(name=OPERATOR).count() == 1


def test_roles_only_gain_permissions_at_migrate() -> None:
    operator = Group.objects.get(name=OPERATOR)
    extra = Permission.objects.get(codename="change_alertrule")
    operator.permissions.add(extra)
    operator.permissions.remove(Permission.objects.get(codename="silence_alert"))
    create_roles()
    assert "alerts.change_alertrule" in codenames(OPERATOR)  # an admin's addition stays
    assert "alerts.silence_alert" in codenames(OPERATOR)  # the role's own comes back


def test_the_persona_fixtures_are_in_their_groups(
    viewer_user: Any, operator_user: Any, admin_persona: Any, outsider_user: Any
) -> None:
    assert viewer_user.has_perm("alerts.view_alert")
    assert not viewer_user.has_perm("alerts.acknowledge_alert")
    assert operator_user.has_perm("alerts.acknowledge_alert")
    assert not operator_user.has_perm("alerts.change_alertrule")
    assert admin_persona.has_perm("alerts.change_alertrule") and admin_persona.is_staff
    assert not outsider_user.has_perm("alerts.view_alert")


# Every action, for every persona: allowed only with the permission, refused with 403 otherwise.


@pytest.fixture
def firing() -> Any:
    dep = f.deployment()
    return incident("Run failed", f.source("elra_conferences", dep), run_id="r-1")


ACTIONS = [
    ("alerts/{pk}/acknowledge/", {"note": "on it"}),
    ("alerts/{pk}/resolve/", {}),
    ("alerts/{pk}/silence/", {"hours": "4"}),
    ("alerts/{pk}/reexecute/", {}),
]
PAGES = ["/alerts/", "/alerts/{pk}/", "/silences/", "/runbooks/", "/runbooks/scraper-failure/"]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_viewer_is_refused_every_alert_action(
    viewer_user_client: Client, firing: Any, path: str, data: dict[str, str]
) -> None:
    response = viewer_user_client.post("/" + path.format(pk=firing.pk), data)
    assert response.status_code == 403
    firing.refresh_from_db()
    assert firing.state == "firing" and firing.silenced_by_id is None
    assert not firing.events.exists()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/silences/new/", {"rule": "1", "comment": "x", "window": "once"}),
        ("/runbooks/new/", {"title": "T", "slug": "t", "body": "b"}),
        ("/runbooks/scraper-failure/edit/", {"title": "T", "body": "b"}),
        ("/runbooks/preview/", {"body": "# hi"}),
    ],
)
def test_a_viewer_is_refused_every_silence_and_runbook_write(
    viewer_user_client: Client, path: str, data: dict[str, str]
) -> None:
    before = Runbook.objects.get(slug="scraper-failure").body
    assert viewer_user_client.post(path, data).status_code == 403
    assert Runbook.objects.get(slug="scraper-failure").body == before
    assert not Runbook.objects.filter(slug="t").exists()


def test_a_viewer_cannot_expire_a_silence(viewer_user_client: Client, firing: Any) -> None:
    from django.utils import timezone

    from alerts.models import Silence

    silence = Silence.for_alert(firing, 4, timezone.now())
    assert viewer_user_client.post(f"/silences/{silence.pk}/expire/").status_code == 403
    silence.refresh_from_db()
    assert silence.expired_at is None


@pytest.mark.parametrize("path", PAGES)
def test_every_role_reads_every_page(
    viewer_user_client: Client,
    operator_client: Client,
    admin_persona_client: Client,
    firing: Any,
    path: str,
) -> None:
    for client in (viewer_user_client, operator_client, admin_persona_client):
        assert client.get(path.format(pk=firing.pk)).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_someone_in_no_role_reads_nothing(outsider_client: Client, firing: Any, path: str) -> None:
    assert outsider_client.get(path.format(pk=firing.pk)).status_code == 403


@pytest.mark.parametrize("path", ["/alerts/", "/silences/", "/runbooks/"])
def test_anonymous_visitors_go_to_the_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "login" in response["Location"]


def test_an_admin_may_do_what_an_operator_does(admin_persona_client: Client, firing: Any) -> None:
    response = admin_persona_client.post(f"/alerts/{firing.pk}/acknowledge/", {"note": "mine"})
    assert response.status_code == 303
    firing.refresh_from_db()
    assert firing.state == "acknowledged"


def test_a_post_without_the_csrf_token_is_refused(operator_user: Any, firing: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator_user)
    response = strict.post(f"/alerts/{firing.pk}/acknowledge/", {"note": "forged"})
    assert response.status_code == 403
    firing.refresh_from_db()
    assert firing.state == "firing"


def test_an_htmx_post_with_the_token_in_the_header_is_accepted(
    operator_user: Any, firing: Any
) -> None:
    """base.html puts the token in hx-headers, so htmx sends it as X-CSRFToken."""
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator_user)
    page = strict.get("/alerts/")
    token = page.context["csrf_token"]
    assert f'"X-CSRFToken": "{token}"' in page.content.decode()
    response = strict.post(
        f"/alerts/{firing.pk}/acknowledge/",
        {"note": "via htmx"},
        headers={"HX-Request": "true", "X-CSRFToken": str(token)},
    )
    assert response.status_code == 200
    firing.refresh_from_db()
    assert firing.state == "acknowledged"
