"""Append-only triggers on the audit tables, and the chain-head row every writer locks.

The trigger SQL is written out here rather than imported, so this migration keeps meaning what
it meant when it ran; audit.triggers holds the same statements for the test-database flush.
"""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_auditcheckpoint")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION accord_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _statements(vendor):
    if vendor == "postgresql":
        yield PG_FUNCTION
        for table in TABLES:
            yield (
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION accord_audit_append_only();"
            )
            yield (
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            yield (
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: UPDATE refused'); END;"
            )
            yield (
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: DELETE refused'); END;"
            )
    else:
        raise NotImplementedError(f"no append-only triggers for database vendor {vendor!r}")


def install_triggers(apps, schema_editor):
    for sql in _statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete;")


def seed_head(apps, schema_editor):
    ChainHead = apps.get_model("audit", "ChainHead")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    last = AuditEvent.objects.order_by("-seq").first()
    ChainHead.objects.get_or_create(
        pk=1, defaults={"seq": last.seq if last else 0, "hash": last.hash if last else "0" * 64}
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_checkpoints_and_verification")]

    operations = [
        migrations.RunPython(seed_head, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
