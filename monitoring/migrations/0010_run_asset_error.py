from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0009_api_token_to_accounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="runasset",
            name="error_message",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="runasset",
            name="failed_step",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
