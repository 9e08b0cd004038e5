"""ApiToken.all_sources: "may report for every pushed source" becomes a stored choice instead of
being read from an empty source list (a token limited to one source became unrestricted when that
source was deleted). Today's tokens keep what they allow: those without sources allow all,
those with sources only those. Deleting a user now deletes their tokens."""

import django.db.models.deletion
from django.apps.registry import Apps
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def keep_what_each_token_allows(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ApiToken = apps.get_model("monitoring", "ApiToken")
    ApiToken.objects.filter(sources__isnull=True).update(all_sources=True)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0007_run_asset_time_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="all_sources",
            field=models.BooleanField(
                default=False,
                help_text="May report runs of every pushed source, including those added later. "
                "Otherwise only of the sources chosen below.",
                verbose_name="all pushed sources",
            ),
        ),
        migrations.RunPython(keep_what_each_token_allows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="sources",
            field=models.ManyToManyField(
                blank=True,
                help_text="Pushed sources this token may report for, unless it may report for all.",
                related_name="tokens",
                to="monitoring.source",
            ),
        ),
    ]
