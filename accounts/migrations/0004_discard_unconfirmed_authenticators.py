from __future__ import annotations

from django.db import migrations


def discard_unconfirmed_authenticators(apps, schema_editor):
    # An unconfirmed device's secret may have been shown to any session of its user; enrolment
    # now keeps each secret in the one session it was shown to, so these rows are worth nothing.
    apps.get_model("otp_totp", "TOTPDevice").objects.filter(confirmed=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_credentials_epoch"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(discard_unconfirmed_authenticators, migrations.RunPython.noop),
    ]
