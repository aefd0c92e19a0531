"""Give every existing compartment its owning organisation.

Only the owner's admins read people in from now on, so each compartment without an owner gets
one, decided in this order:

1. the organisation of whoever created it — not recorded for compartments, so never decisive;
2. the organisation of the granter of its first read-in (by `granted_at`, then id), when that
   read-in was granted by a person with an organisation;
3. the demo's JOINT-EX-1 and CBRN belong to the UK institute (`ukasi`), when it exists;
4. otherwise it stays unowned, and `accounts/compartments.py` states the rule for that: only the
   system reads people in to it until a portal admin sets its owner.
"""

from __future__ import annotations

from django.db import migrations

DEMO_OWNERS = {"joint-ex-1": "ukasi", "cbrn": "ukasi"}


def assign_owners(apps, schema_editor):
    Compartment = apps.get_model("accounts", "Compartment")
    ReadIn = apps.get_model("accounts", "ReadIn")
    Organisation = apps.get_model("accounts", "Organisation")
    for compartment in Compartment.objects.filter(owner__isnull=True):
        first = (
            ReadIn.objects.filter(compartment=compartment, granted_by__organisation__isnull=False)
            .select_related("granted_by")
            .order_by("granted_at", "pk")
            .first()
        )
        owner_id = first.granted_by.organisation_id if first else None
        if owner_id is None and compartment.code in DEMO_OWNERS:
            owner_id = (
                Organisation.objects.filter(short_name=DEMO_OWNERS[compartment.code]).values_list("pk", flat=True).first()
            )
        if owner_id is not None:
            compartment.owner_id = owner_id
            compartment.save(update_fields=["owner"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_discard_unconfirmed_authenticators"),
    ]

    operations = [
        migrations.RunPython(assign_owners, migrations.RunPython.noop),
    ]
