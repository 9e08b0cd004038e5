"""Secrets already stored before issue 13: delivery errors that quoted a channel's URL (requests
puts a Slack webhook's path in its connection errors) and audit entries that kept a webhook's URL
and headers in clear. Rewritten once, with the same redaction the code now applies on write."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from confops.common.secrets import mask_keys, redact_text, secret_strings

# The webhook transport's secret config keys as of this migration (a migration keeps its facts).
SECRET_CONFIG_KEYS = ("url", "headers")
BATCH = 500


def channel_secrets(channel: Any) -> list[str]:
    config = channel.config if isinstance(channel.config, dict) else {}
    return [channel.secret, *secret_strings(config, SECRET_CONFIG_KEYS)]


def redact_errors(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("alerts", "Channel")
    Notification = apps.get_model("alerts", "Notification")
    DeliveryAttempt = apps.get_model("alerts", "DeliveryAttempt")
    secrets = {c.pk: channel_secrets(c) for c in Channel.objects.all()}
    for model, channel_of in (
        (Notification, "channel_id"),
        (DeliveryAttempt, "notification__channel_id"),
    ):
        changed = []
        for pk, error, channel_id in (
            model.objects.exclude(error="").values_list("pk", "error", channel_of).iterator()
        ):
            redacted = redact_text(error, secrets.get(channel_id, []))
            if redacted != error:
                changed.append(model(pk=pk, error=redacted))
        model.objects.bulk_update(changed, ["error"], batch_size=BATCH)


def masked_config(value: Any) -> Any:
    """A config snapshot (``deleted``) or a before/after pair (``created``, ``changed``)."""
    if isinstance(value, dict):
        return mask_keys(value, SECRET_CONFIG_KEYS)
    if isinstance(value, list):
        return [masked_config(item) for item in value]
    return value


def mask_audited_configs(apps: Any, schema_editor: Any) -> None:
    AuditEntry = apps.get_model("alerts", "AuditEntry")
    changed = []
    for entry in AuditEntry.objects.filter(object_type="alerts.Channel").iterator():
        if isinstance(entry.changes, dict) and "config" in entry.changes:
            masked = masked_config(entry.changes["config"])
            if masked != entry.changes["config"]:
                entry.changes = {**entry.changes, "config": masked}
                changed.append(entry)
    AuditEntry.objects.bulk_update(changed, ["changes"], batch_size=BATCH)


def redact(apps: Any, schema_editor: Any) -> None:
    redact_errors(apps, schema_editor)
    mask_audited_configs(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0006_confops_internal_alert")]

    operations = [migrations.RunPython(redact, migrations.RunPython.noop)]
