"""Audit rows can be added, never changed: by the model, and below it by database triggers."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import Action, AuditCheckpoint, AuditEvent, ChainHead
from audit.services import checkpoint_create, record

from .conftest import make_chain

pytestmark = pytest.mark.django_db


def test_model_refuses_update_and_delete():
    event = record(Action.AUTH_LOGIN)
    event.action = Action.AUTH_LOGOUT
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(seq=event.seq).update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(seq=event.seq).action == Action.AUTH_LOGIN


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'x'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditcheckpoint SET head_hash = 'x'",
        "DELETE FROM audit_auditcheckpoint",
    ],
)
def test_database_refuses_raw_update_and_delete(statement):
    make_chain(3, checkpoint_at=2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 4
    assert AuditCheckpoint.objects.count() == 1


@pytest.mark.services
@pytest.mark.parametrize("table", ["audit_auditevent", "audit_auditcheckpoint"])
def test_postgresql_refuses_truncate(table):
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-services)"
    make_chain(3, checkpoint_at=2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 4


def test_chain_head_is_seeded_by_migration():
    head = ChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (0, "0" * 64)


def test_checkpoint_model_refuses_update_and_delete():
    make_chain(2)
    checkpoint = checkpoint_create()
    with pytest.raises(PermissionError):
        checkpoint.save()
    with pytest.raises(PermissionError):
        checkpoint.delete()


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_can_still_empty_the_database():
    # Django empties the database with `flush` after this test; the command lifts the triggers
    # for that and restores them, which the next assertion checks from inside.
    record(Action.AUTH_LOGIN)
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    event = record(Action.AUTH_LOGOUT)
    assert event.seq == 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")


def test_flush_is_refused_in_production(settings):
    from django.core.management import CommandError, call_command

    settings.PRODUCTION = True
    record(Action.AUTH_LOGIN)
    with pytest.raises(CommandError, match="refused in production"):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 1
