"""ApiToken (from `monitoring`) and AuditEntry (from `alerts`) become this app's models.

Their tables are kept (`monitoring_apitoken`, its `monitoring_apitoken_sources`, and
`alerts_auditentry`), so the models are created in Django's state only. Their content types move
to `accounts`, and with them the permissions that point at them: a group that could view or
change tokens keeps that right, now named `accounts.view_apitoken` and so on.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = {"apitoken": "monitoring", "auditentry": "alerts"}


def move_content_types(apps, schema_editor, to_accounts=True):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_app in MOVED.items():
        source, target = ("accounts", old_app) if not to_accounts else (old_app, "accounts")
        if content_type.objects.filter(app_label=target, model=model).exists():
            continue  # already there (post_migrate ran before this): nothing to carry over
        content_type.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, to_accounts=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("monitoring", "0009_api_token_to_accounts"),
        ("alerts", "0008_audit_entry_to_accounts"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("prefix", models.CharField(editable=False, max_length=16, unique=True)),
                ("token_hash", models.CharField(editable=False, max_length=64, unique=True)),
                (
                    "scopes",
                    models.JSONField(default=list, help_text="Any of: push, read, operate, admin"),
                ),
                (
                    "all_sources",
                    models.BooleanField(
                        default=False,
                        help_text="May report runs of every pushed source, including those "
                        "added later. Otherwise only of the sources chosen below.",
                        verbose_name="all pushed sources",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "sources",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Pushed sources this token may report for, unless it may "
                        "report for all.",
                        limit_choices_to={"deployment__isnull": True, "kind": "pushed"},
                        related_name="tokens",
                        to="monitoring.source",
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "db_table": "monitoring_apitoken",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField()),
                (
                    "actor_label",
                    models.CharField(blank=True, help_text="e.g. an API token", max_length=200),
                ),
                ("action", models.CharField(max_length=50)),
                ("object_type", models.CharField(max_length=100)),
                ("object_id", models.CharField(max_length=100)),
                ("object_repr", models.CharField(max_length=300)),
                ("changes", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "audit entries",
                "db_table": "alerts_auditentry",
                "ordering": ["-at"],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
