# The organisation keys moved here from sharing. Their table stays as it was
# (sharing_organisationkey): this migration only tells Django's state that vault now owns it.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_seed_countries_and_tiers'),
        ('sharing', '0004_agreement_expiry_notice'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OrganisationKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('version', models.PositiveIntegerField()),
                        ('wrapped_key', models.BinaryField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('retired_at', models.DateTimeField(blank=True, null=True)),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='keys', to='accounts.organisation')),
                    ],
                    options={
                        'db_table': 'sharing_organisationkey',
                        'ordering': ['organisation', '-version'],
                        'constraints': [models.UniqueConstraint(fields=('organisation', 'version'), name='orgkey_version_unique')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
