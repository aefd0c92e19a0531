"""The sequencer: events are inserted unsealed and linked into the chain later, in batches.

Existing rows (versions 1 and 2) were linked as they were written, so their chain position is
their seq. The event table's triggers now let exactly one update through, the sealing of an
unsealed version-3 event; they are written out here, not imported, so this migration keeps
meaning what it meant when it ran (audit.triggers holds the same statements). On PostgreSQL
`seq` is drawn from a sequence at insert, so appends need no lock.
"""

from django.db import migrations, models

PG_CREATE = ["\nCREATE OR REPLACE FUNCTION accord_audit_append_only() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP\n        USING ERRCODE = 'insufficient_privilege';\nEND\n$$;\n", "\nCREATE OR REPLACE FUNCTION accord_audit_event_guard() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_OP = 'UPDATE' AND OLD.position IS NULL AND OLD.version >= 3 AND NEW.position IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.sealed_at IS NOT NULL\n       AND (NEW.seq, NEW.at, NEW.actor_id, NEW.actor_label, NEW.organisation_id, NEW.action, NEW.outcome, NEW.target_type, NEW.target_id, NEW.target_label, NEW.request_id, NEW.ip, NEW.user_agent, NEW.details, NEW.version, NEW.digest)\n           IS NOT DISTINCT FROM (OLD.seq, OLD.at, OLD.actor_id, OLD.actor_label, OLD.organisation_id, OLD.action, OLD.outcome, OLD.target_type, OLD.target_id, OLD.target_label, OLD.request_id, OLD.ip, OLD.user_agent, OLD.details, OLD.version, OLD.digest) THEN\n        RETURN NEW;\n    END IF;\n    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP\n        USING ERRCODE = 'insufficient_privilege';\nEND\n$$;\n", 'CREATE TRIGGER audit_auditevent_no_change BEFORE UPDATE OR DELETE ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION accord_audit_event_guard();', 'CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();', 'CREATE TRIGGER audit_auditcheckpoint_no_change BEFORE UPDATE OR DELETE ON audit_auditcheckpoint FOR EACH ROW EXECUTE FUNCTION accord_audit_append_only();', 'CREATE TRIGGER audit_auditcheckpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();', 'CREATE TRIGGER audit_auditsubject_no_change BEFORE UPDATE OR DELETE ON audit_auditsubject FOR EACH ROW EXECUTE FUNCTION accord_audit_append_only();', 'CREATE TRIGGER audit_auditsubject_no_truncate BEFORE TRUNCATE ON audit_auditsubject FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();']
SQLITE_CREATE = ["CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent WHEN NOT (OLD.position IS NULL AND OLD.version >= 3 AND NEW.position IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.sealed_at IS NOT NULL AND NEW.seq IS OLD.seq AND NEW.at IS OLD.at AND NEW.actor_id IS OLD.actor_id AND NEW.actor_label IS OLD.actor_label AND NEW.organisation_id IS OLD.organisation_id AND NEW.action IS OLD.action AND NEW.outcome IS OLD.outcome AND NEW.target_type IS OLD.target_type AND NEW.target_id IS OLD.target_id AND NEW.target_label IS OLD.target_label AND NEW.request_id IS OLD.request_id AND NEW.ip IS OLD.ip AND NEW.user_agent IS OLD.user_agent AND NEW.details IS OLD.details AND NEW.version IS OLD.version AND NEW.digest IS OLD.digest) BEGIN SELECT RAISE(ABORT, 'audit table audit_auditevent is append-only: UPDATE refused'); END;", "CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent BEGIN SELECT RAISE(ABORT, 'audit table audit_auditevent is append-only: DELETE refused'); END;", "CREATE TRIGGER audit_auditcheckpoint_no_update BEFORE UPDATE ON audit_auditcheckpoint BEGIN SELECT RAISE(ABORT, 'audit table audit_auditcheckpoint is append-only: UPDATE refused'); END;", "CREATE TRIGGER audit_auditcheckpoint_no_delete BEFORE DELETE ON audit_auditcheckpoint BEGIN SELECT RAISE(ABORT, 'audit table audit_auditcheckpoint is append-only: DELETE refused'); END;", "CREATE TRIGGER audit_auditsubject_no_update BEFORE UPDATE ON audit_auditsubject BEGIN SELECT RAISE(ABORT, 'audit table audit_auditsubject is append-only: UPDATE refused'); END;", "CREATE TRIGGER audit_auditsubject_no_delete BEFORE DELETE ON audit_auditsubject BEGIN SELECT RAISE(ABORT, 'audit table audit_auditsubject is append-only: DELETE refused'); END;"]
PG_DROP = ['DROP TRIGGER IF EXISTS audit_auditevent_no_change ON audit_auditevent;', 'DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;', 'DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_change ON audit_auditcheckpoint;', 'DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_truncate ON audit_auditcheckpoint;', 'DROP TRIGGER IF EXISTS audit_auditsubject_no_change ON audit_auditsubject;', 'DROP TRIGGER IF EXISTS audit_auditsubject_no_truncate ON audit_auditsubject;']
SQLITE_DROP = ['DROP TRIGGER IF EXISTS audit_auditevent_no_update;', 'DROP TRIGGER IF EXISTS audit_auditevent_no_delete;', 'DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_update;', 'DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_delete;', 'DROP TRIGGER IF EXISTS audit_auditsubject_no_update;', 'DROP TRIGGER IF EXISTS audit_auditsubject_no_delete;']
OLD_TABLES = ("audit_auditevent", "audit_auditcheckpoint", "audit_auditsubject")
OLD_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION accord_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _old_create(vendor):
    # The triggers of 0003/0004, for going back: every update and delete refused.
    if vendor == "postgresql":
        yield OLD_PG_FUNCTION
        for table in OLD_TABLES:
            yield (
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION accord_audit_append_only();"
            )
            yield (
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();"
            )
    else:
        for table in OLD_TABLES:
            yield (
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: UPDATE refused'); END;"
            )
            yield (
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: DELETE refused'); END;"
            )


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql, params=None)


def drop_triggers(apps, schema_editor):
    _run(schema_editor, PG_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP)


def install_old_triggers(apps, schema_editor):
    _run(schema_editor, list(_old_create(schema_editor.connection.vendor)))


def install_triggers(apps, schema_editor):
    _run(schema_editor, PG_CREATE if schema_editor.connection.vendor == "postgresql" else SQLITE_CREATE)


def link_existing_rows(apps, schema_editor):
    # Rows written so far were linked at insert: their position in the chain is their seq.
    schema_editor.execute("UPDATE audit_auditevent SET position = seq WHERE position IS NULL", params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS audit_auditevent_seq_seq OWNED BY audit_auditevent.seq")
        schema_editor.execute(
            "SELECT setval('audit_auditevent_seq_seq', COALESCE((SELECT max(seq) FROM audit_auditevent), 0) + 1, false)"
        )
        schema_editor.execute(
            "ALTER TABLE audit_auditevent ALTER COLUMN seq SET DEFAULT nextval('audit_auditevent_seq_seq')"
        )


def drop_pattern_indexes(apps, schema_editor):
    # PostgreSQL: Django adds a varchar_pattern_ops copy of every indexed text column, for LIKE.
    # Nothing searches actions or hashes by prefix; every append would pay to keep them.
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'audit_auditevent' "
            "AND indexdef LIKE '%%varchar_pattern_ops%%' AND (indexdef LIKE '%%(action %%' "
            "OR indexdef LIKE '%%(prev_hash %%')"
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"', params=None)


def unlink_existing_rows(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent ALTER COLUMN seq DROP DEFAULT")
        schema_editor.execute("DROP SEQUENCE IF EXISTS audit_auditevent_seq_seq")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_subjects"),
    ]

    operations = [
        # SQLite rebuilds the event table to alter its columns, which drops its triggers: lift
        # them all first, put the new ones in last.
        migrations.RunPython(drop_triggers, install_old_triggers),
        migrations.AddField(
            model_name='auditevent',
            name='digest',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='position',
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='sealed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='verificationrun',
            name='checkpoint_seq',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='verificationrun',
            name='from_seq',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('position__isnull', True)), fields=['seq'], name='audit_unsealed'),
        ),
        migrations.RunPython(link_existing_rows, unlink_existing_rows),
        migrations.RunPython(drop_pattern_indexes, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
