"""Rule slugs are unique (filled by 0015; a separate migration so PostgreSQL alters the table
in a transaction of its own, after the rows were updated).

Where both run in one transaction (a test migrating inside its own, or a database whose
migrations are not atomic), 0015's updates leave deferred foreign key checks pending, and
PostgreSQL refuses to build an index on a table with pending trigger events: the checks are run
first, then deferred again as Django's constraints are by default."""

from typing import Any

from django.db import migrations, models


def run_deferred_checks(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def defer_checks_again(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):
    dependencies = [("alerts", "0015_rule_slug_and_plain_default_names")]

    operations = [
        migrations.RunPython(run_deferred_checks, defer_checks_again),
        migrations.AlterField(
            model_name="alertrule",
            name="slug",
            field=models.SlugField(editable=False, max_length=200, unique=True),
        ),
        migrations.RunPython(defer_checks_again, run_deferred_checks),
    ]
