"""Issue 16 (owners and tags route alerts): a channel may carry route owners and route tags."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("alerts", "0011_stale_rule_follows_cadence")]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="route_owners",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="JSON list. Also send alerts of sources with one of these owners (Dagster "
                'owners such as "team:ingestion" or "alice@example.com", or the owner set in '
                "confops).",
                verbose_name="route owners",
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="route_tags",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="JSON list. Also send alerts of sources with one of these tags "
                '("domain=retail", or "domain" for any value). With owners too, a source must '
                "match both.",
                verbose_name="route tags",
            ),
        ),
    ]
