from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0010_run_asset_error"),
    ]

    operations = [
        migrations.AddField(
            model_name="instigator",
            name="stopped_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
