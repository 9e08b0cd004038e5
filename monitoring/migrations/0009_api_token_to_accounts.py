"""ApiToken moved to the `accounts` app (confops/accounts). Its table stays where it is
(`monitoring_apitoken`, kept as the model's db_table): only Django's idea of which app owns the
model changes, so nothing is done to the database here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0008_api_token_explicit_sources")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiToken")], database_operations=[]
        )
    ]
