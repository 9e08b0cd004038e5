"""Issue 16 (volume without configuration): the shipped volume rules choose each source's key.

Installs made before it hold the default "Volume drop over 30 %" and "Count below minimum"
judging a metadata key named ``count`` only. While a default volume rule still names ``count``
it judges ``auto`` instead: each source's own volume key (the operator's choice,
``dagster/row_count``, or the one key that counts rows or records; ``count`` still is one). Its
other numbers, retuned or not, stay; a rule naming another key stays as it is.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# The facts as of this migration (a migration keeps its own, not the code's current ones).
VOLUME_KINDS = ("volume_drop", "volume_bounds")
OLD_METRIC = "count"
AUTO = "auto"


def move(apps: Any, old: str, new: str) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    for rule in AlertRule.objects.filter(is_default=True, kind__in=VOLUME_KINDS):
        if (rule.parameters or {}).get("metric") == old:
            rule.parameters = {**rule.parameters, "metric": new}
            rule.save(update_fields=["parameters"])


def choose_key(apps: Any, schema_editor: Any) -> None:
    move(apps, OLD_METRIC, AUTO)


def count_only(apps: Any, schema_editor: Any) -> None:
    move(apps, AUTO, OLD_METRIC)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0012_channel_routes")]

    operations = [migrations.RunPython(choose_key, count_only)]
