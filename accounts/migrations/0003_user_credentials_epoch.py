from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_seed_countries_and_tiers"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="credentials_epoch",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
