# OrganisationKey now belongs to vault (vault/migrations/0001_initial.py), which keeps its table:
# sharing forgets the model without dropping anything.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sharing', '0004_agreement_expiry_notice'),
        ('vault', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='OrganisationKey')],
            database_operations=[],
        ),
    ]
