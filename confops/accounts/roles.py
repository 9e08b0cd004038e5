"""The three roles of the portal, as Django groups with their permissions.

- **Viewer** reads everything about monitoring and alerts (``view_*``), except API tokens.
- **Operator** also acknowledges, resolves and silences alerts, edits runbooks and re-executes
  a failed Dagster run from an alert.
- **Admin** also changes rules, channels, deployments, sources, tokens, the report's
  distribution and the beat schedule: every permission of ``accounts``, ``alerts``,
  ``monitoring``, ``reports`` and ``django_celery_beat``. (Opening the Django admin also needs
  ``is_staff`` on the account.) Reading reports needs no permission of ``reports``: its pages
  and API ask for what a report shows (sources and alerts), which the Viewer has.

The groups are created by a data migration and again after every ``migrate`` (and test flush),
like the default rules. A role only ever gains permissions here: one a new model brings is added
to the roles that should have it, and nothing is taken away, so an admin's additions to a group
survive deploys. To give someone less than a role, make a group of your own. The apps are named
by label, never imported: this module stands below them.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.apps import apps as django_apps

VIEWER = "Viewer"
OPERATOR = "Operator"
ADMIN = "Admin"

READ_APPS = ("accounts", "monitoring", "alerts")
ADMIN_APPS = ("accounts", "alerts", "monitoring", "reports", "django_celery_beat")
# Token names and scopes are an admin's business, even read-only. By codename alone, so that the
# roles' migration, run while tokens still belonged to `monitoring`, leaves them out too.
NOT_FOR_VIEWERS = frozenset({"view_apitoken"})
OPERATOR_EXTRA = (
    ("alerts", "acknowledge_alert"),
    ("alerts", "resolve_alert"),
    ("alerts", "silence_alert"),
    ("alerts", "reexecute_run"),
    ("alerts", "add_silence"),
    ("alerts", "change_silence"),
    ("alerts", "add_runbook"),
    ("alerts", "change_runbook"),
)


def role_permissions(permission_model: Any) -> dict[str, list[Any]]:
    """Each role's permissions, read from the permission table (historical model or real)."""
    everything = list(
        permission_model.objects.filter(content_type__app_label__in=ADMIN_APPS).select_related(
            "content_type"
        )
    )
    keyed = {(p.content_type.app_label, p.codename): p for p in everything}
    viewer = [
        p
        for (app, codename), p in keyed.items()
        if app in READ_APPS and codename.startswith("view_") and codename not in NOT_FOR_VIEWERS
    ]
    operator = viewer + [keyed[key] for key in OPERATOR_EXTRA if key in keyed]
    return {VIEWER: viewer, OPERATOR: operator, ADMIN: everything}


def ensure_roles(group_model: Any, permission_model: Any) -> list[str]:
    """Create missing role groups and add missing permissions; return the groups created."""
    created = []
    for name, permissions in role_permissions(permission_model).items():
        group, was_created = group_model.objects.get_or_create(name=name)
        if was_created:
            created.append(name)
        group.permissions.add(*permissions)
    return created


def create_roles(app_config: AppConfig | None = None, **_: object) -> list[str]:
    """post_migrate receiver: the roles with today's models, after every migrate and flush.

    Django sends post_migrate once per app, in INSTALLED_APPS order, and creates each app's
    permissions on its own turn; the roles are ensured on the turn of the last app they draw on,
    when all of their permissions exist."""
    if app_config is not None and app_config.label != last_role_app():
        return []
    # Lazy: the auth models cannot be imported before the app registry is ready, and this
    # module is imported by the roles' migration and by AppConfig.ready.
    from django.contrib.auth.models import Group, Permission

    return ensure_roles(Group, Permission)


def last_role_app() -> str:
    """The label of the last installed app whose permissions the roles draw on."""
    labels = [config.label for config in django_apps.get_app_configs()]
    return max((label for label in ADMIN_APPS if label in labels), key=labels.index)
