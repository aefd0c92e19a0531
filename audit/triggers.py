"""Database triggers that make the audit tables append-only, below the ORM.

The model's refusal stops application code; these stop a raw `UPDATE`, `DELETE` or (on
PostgreSQL) `TRUNCATE` issued by anything holding ordinary access to the database. One update
is let through on the event table: the sequencer's sealing of an unsealed version-3 event (it
gains a position, a link, a hash and a sealing time; nothing it said changes), once — a sealed
event can be neither re-sealed nor changed. Someone able
to drop a trigger can still rewrite rows, which is what the hash chain and the signed
checkpoints held by partners are there to reveal.
"""

from __future__ import annotations

PROTECTED_TABLES = ("audit_auditevent", "audit_auditcheckpoint", "audit_auditsubject")
EVENT_TABLE = "audit_auditevent"
# What a sealing update may not touch: everything the event said when it was inserted.
CONTENT_COLUMNS = (
    "seq", "at", "actor_id", "actor_label", "organisation_id", "action", "outcome", "target_type",
    "target_id", "target_label", "request_id", "ip", "user_agent", "details", "version", "digest",
)  # fmt: skip
# The one update allowed: an unsealed version-3 event gets its position, link and hash, once.
SEALING_RULE = (
    "OLD.position IS NULL AND OLD.version >= 3 AND NEW.position IS NOT NULL "
    "AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.sealed_at IS NOT NULL"
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION accord_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

PG_EVENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION accord_audit_event_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {SEALING_RULE}
       AND ({", ".join("NEW." + c for c in CONTENT_COLUMNS)})
           IS NOT DISTINCT FROM ({", ".join("OLD." + c for c in CONTENT_COLUMNS)}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def pg_create(table: str) -> list[str]:
    function = "accord_audit_event_guard" if table == EVENT_TABLE else "accord_audit_append_only"
    return [
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}();",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only();",
    ]


def pg_drop(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
    ]


def sqlite_create(table: str) -> list[str]:
    # SQLite has no TRUNCATE; its "truncate optimisation" of a bare DELETE is disabled by the
    # presence of a DELETE trigger, so the trigger sees every row.
    when = ""
    if table == EVENT_TABLE:
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in CONTENT_COLUMNS)
        when = f"WHEN NOT ({SEALING_RULE} AND {unchanged}) "
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} {when}"
        f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: UPDATE refused'); END;",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: DELETE refused'); END;",
    ]


def sqlite_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]


def create_statements(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [PG_FUNCTION, PG_EVENT_FUNCTION] + [sql for table in PROTECTED_TABLES for sql in pg_create(table)]
    if vendor == "sqlite":
        return [sql for table in PROTECTED_TABLES for sql in sqlite_create(table)]
    raise NotImplementedError(f"no append-only triggers for database vendor {vendor!r}")


def drop_statements(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [sql for table in PROTECTED_TABLES for sql in pg_drop(table)]
    if vendor == "sqlite":
        return [sql for table in PROTECTED_TABLES for sql in sqlite_drop(table)]
    raise NotImplementedError(f"no append-only triggers for database vendor {vendor!r}")


def install(schema_editor) -> None:
    for sql in create_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove(schema_editor) -> None:
    for sql in drop_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)
