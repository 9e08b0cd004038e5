"""Issue 18: rules get a slug (the API names a rule by id or slug), and the shipped rules whose
names carried a threshold lose it (the threshold is shown beside the name instead).

A default rule still named exactly as shipped is renamed ("Volume drop over 30 %" read wrong
once retuned to 40 %); a rule an operator renamed keeps its name. Then every rule gets a
unique slug from its (new) name; migration 0016 makes the column unique.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.utils.text import slugify

# The facts as of this migration (a migration keeps its own, not the code's current ones).
RENAMED = {
    "Two consecutive failures": "Consecutive failures",
    "Volume drop over 30 %": "Volume drop",
    "Duration over 3x median": "Run too long",
}


def rename(apps: Any, names: dict[str, str]) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    for old, new in names.items():
        if not AlertRule.objects.filter(name=new).exists():
            AlertRule.objects.filter(is_default=True, name=old).update(name=new)


def free_slug(name: str, taken: set[str]) -> str:
    base = slugify(name)[:190] or "rule"
    if base.isdigit():
        base = f"rule-{base}"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def fill_slugs(apps: Any) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    taken: set[str] = set()
    for rule in AlertRule.objects.order_by("pk"):
        rule.slug = free_slug(rule.name, taken)
        taken.add(rule.slug)
        rule.save(update_fields=["slug"])


def forwards(apps: Any, schema_editor: Any) -> None:
    rename(apps, RENAMED)
    fill_slugs(apps)


def run_deferred_checks(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def backwards(apps: Any, schema_editor: Any) -> None:
    rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [("alerts", "0014_two_way_channels")]

    operations = [
        migrations.AddField(
            model_name="alertrule",
            name="slug",
            field=models.SlugField(default="", editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, backwards),
        # The slug's index is built when this migration ends, after the updates above: where
        # they share a transaction with it (a test migrating inside its own), PostgreSQL refuses
        # an index on a table whose deferred foreign key checks are pending, so run them now.
        migrations.RunPython(run_deferred_checks, migrations.RunPython.noop),
    ]
