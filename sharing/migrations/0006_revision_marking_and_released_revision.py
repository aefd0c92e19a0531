import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    """Each revision's marking as rows (from its snapshot); each approved release pins its
    document's current revision, which is what its partner has been reading."""
    DocumentRevision = apps.get_model("sharing", "DocumentRevision")
    Release = apps.get_model("sharing", "Release")
    Tier = apps.get_model("accounts", "Tier")
    Compartment = apps.get_model("accounts", "Compartment")
    tiers = {tier.code: tier.pk for tier in Tier.objects.all()}
    compartments = {c.code: c.pk for c in Compartment.objects.all()}
    for revision in DocumentRevision.objects.iterator():
        marking = revision.snapshot.get("marking", {})
        # update(): the model's save() refuses to change a revision; this only adds the rows.
        DocumentRevision.objects.filter(pk=revision.pk).update(tier_id=tiers.get(marking.get("tier")))
        revision.releasable_to.set(marking.get("releasable_to", []))
        revision.compartments.set([compartments[c] for c in marking.get("compartments", []) if c in compartments])
    for release in Release.objects.filter(status="approved").select_related("document"):
        current = DocumentRevision.objects.filter(document_id=release.document_id, number=release.document.revision)
        Release.objects.filter(pk=release.pk).update(revision=current.first())


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_seed_countries_and_tiers'),
        ('sharing', '0005_organisationkey_moved_to_vault'),
    ]

    operations = [
        migrations.AddField(
            model_name='documentrevision',
            name='compartments',
            field=models.ManyToManyField(blank=True, related_name='+', to='accounts.compartment'),
        ),
        migrations.AddField(
            model_name='documentrevision',
            name='releasable_to',
            field=models.ManyToManyField(blank=True, related_name='+', to='accounts.country'),
        ),
        migrations.AddField(
            model_name='documentrevision',
            name='tier',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.tier'),
        ),
        migrations.AddField(
            model_name='release',
            name='revision',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='releases', to='sharing.documentrevision'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
