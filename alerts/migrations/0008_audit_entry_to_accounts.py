"""AuditEntry moved to the `accounts` app (confops/accounts). Its table stays where it is
(`alerts_auditentry`, kept as the model's db_table): only Django's idea of which app owns the
model changes, so nothing is done to the database here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alerts", "0007_redact_stored_channel_secrets")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")], database_operations=[]
        )
    ]
