"""Issue 15 (freshness from cadence): the shipped stale rule judges by each source's cadence.

Installs made before it hold the default rule "Stale after 24 h" with a fixed 24 h. It is
renamed (so that post_migrate does not add the new default beside it) and, only while it still
has the shipped parameters, loses its fixed 24 h so it follows the cadence; a rule an operator
retuned keeps its numbers.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# The facts as of this migration (a migration keeps its own, not the code's current ones).
OLD_NAME = "Stale after 24 h"
NEW_NAME = "Stale (no success when expected)"
SHIPPED = {"max_age_hours": 24, "grace_minutes": 30}
FOLLOWS_CADENCE = {"grace_minutes": 30}


def follow_cadence(apps: Any, schema_editor: Any) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    rule = AlertRule.objects.filter(name=OLD_NAME, is_default=True, kind="stale").first()
    if rule is None or AlertRule.objects.filter(name=NEW_NAME).exists():
        return
    rule.name = NEW_NAME
    if rule.parameters == SHIPPED:
        rule.parameters = FOLLOWS_CADENCE
    rule.save(update_fields=["name", "parameters"])


def fixed_24_hours(apps: Any, schema_editor: Any) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    rule = AlertRule.objects.filter(name=NEW_NAME, is_default=True, kind="stale").first()
    if rule is None or AlertRule.objects.filter(name=OLD_NAME).exists():
        return
    rule.name = OLD_NAME
    if rule.parameters == FOLLOWS_CADENCE:
        rule.parameters = SHIPPED
    rule.save(update_fields=["name", "parameters"])


class Migration(migrations.Migration):
    dependencies = [("alerts", "0010_incidents")]

    operations = [migrations.RunPython(follow_cadence, fixed_24_hours)]
