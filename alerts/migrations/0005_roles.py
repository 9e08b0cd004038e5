"""The Viewer, Operator and Admin groups with their permissions (see confops/accounts/roles.py).

On a fresh database the permissions do not exist yet while migrations run (Django creates them
on post_migrate), so they are created here first for the apps the roles draw on. Running it
twice changes nothing; the same roles are also ensured after every migrate.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from confops.accounts.roles import ensure_roles

# The apps the roles drew on when this migration was written (tokens and the audit trail still
# belonged to monitoring and alerts; `accounts` and `reports` did not exist yet).
APPS_THEN = ("alerts", "monitoring", "django_celery_beat")


def create_role_groups(apps, schema_editor):
    for label in APPS_THEN:
        app_config = apps.get_app_config(label)
        # Historical app configs have no models module, which create_permissions skips.
        app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Viewer", "Operator", "Admin"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_roles_and_runbook_revisions"),
        ("monitoring", "0006_run_asset_created_at"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
