"""The subjects index of list events, append-only below the ORM like the events themselves.

The trigger SQL is written out here (as in 0003) so this migration keeps meaning what it meant
when it ran; the function it calls was created by 0003.
"""

from django.db import migrations, models

TABLE = "audit_auditsubject"


def _statements(vendor):
    if vendor == "postgresql":
        yield (
            f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION accord_audit_append_only();"
        )
        yield (
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();"
        )
    elif vendor == "sqlite":
        yield (
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'audit table {TABLE} is append-only: UPDATE refused'); END;"
        )
        yield (
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'audit table {TABLE} is append-only: DELETE refused'); END;"
        )
    else:
        raise NotImplementedError(f"no append-only triggers for database vendor {vendor!r}")


def _drops(vendor):
    if vendor == "postgresql":
        yield f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE};"
        yield f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};"
    else:
        yield f"DROP TRIGGER IF EXISTS {TABLE}_no_update;"
        yield f"DROP TRIGGER IF EXISTS {TABLE}_no_delete;"


def install_triggers(apps, schema_editor):
    for sql in _statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove_triggers(apps, schema_editor):
    for sql in _drops(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_and_head"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSubject",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField()),
                ("target_type", models.CharField(max_length=60)),
                ("target_id", models.CharField(max_length=64)),
            ],
            options={
                "indexes": [models.Index(fields=["target_type", "target_id", "seq"], name="audit_subject_target")],
            },
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
