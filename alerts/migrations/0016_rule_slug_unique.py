"""Rule slugs are unique (filled by 0015; a separate migration so PostgreSQL alters the table
in a transaction of its own, after the rows were updated)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("alerts", "0015_rule_slug_and_plain_default_names")]

    operations = [
        migrations.AlterField(
            model_name="alertrule",
            name="slug",
            field=models.SlugField(editable=False, max_length=200, unique=True),
        ),
    ]
