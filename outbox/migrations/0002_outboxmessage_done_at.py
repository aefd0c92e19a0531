from django.db import migrations, models
from django.db.models import F


def sent_means_done(apps, schema_editor):
    # Messages sent before tasks reported their end: take them as done, so the reaper does not
    # send a week of notices again on the first tick after this migration.
    OutboxMessage = apps.get_model("outbox", "OutboxMessage")
    OutboxMessage.objects.filter(sent_at__isnull=False).update(done_at=F("sent_at"))


class Migration(migrations.Migration):
    dependencies = [("outbox", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="outboxmessage", name="done_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.RunPython(sent_means_done, migrations.RunPython.noop),
    ]
