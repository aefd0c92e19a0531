from __future__ import annotations

import pytest
from django.db import connection

from audit import triggers
from audit.chain import row_hash
from audit.models import Action
from audit.services import checkpoint_create, record
from audit.verify import stream_rows
from tests.factories import PersonFactory


@pytest.fixture
def portal_admin(ukasi):
    """Staff, in the UK institute, cleared to nothing: staff status is no licence to read."""
    return PersonFactory(email="pat@accord.example", display_name="Pat Portal", organisation=ukasi, is_staff=True)


@pytest.fixture(autouse=True)
def key_dir(tmp_path, settings):
    """Each test signs with its own key, in its own key directory."""
    settings.KEY_DIR = tmp_path / "keys"
    return settings.KEY_DIR


def make_chain(n: int, *, checkpoint_at: int | None = None) -> None:
    """n events; with `checkpoint_at`, a signed checkpoint once the head reaches that seq (the
    checkpoint's own event then takes the next seq)."""
    from audit.models import ChainHead

    for i in range(n):
        record(Action.DOCUMENT_VIEWED, target=("sharing.document", f"doc-{i}", f"Finding {i}"), details={"i": i})
        if checkpoint_at is not None and ChainHead.objects.get().seq == checkpoint_at:
            checkpoint_create()


def drop_triggers() -> None:
    """What an attacker with database access does first."""
    with connection.cursor() as cursor:
        for sql in triggers.drop_statements(connection.vendor):
            cursor.execute(sql)


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def rehash_from(seq: int) -> None:
    """Rewrite every hash from `seq` on so the chain is internally consistent again: the
    careful attacker, whom only signed checkpoints can catch."""
    prev = None
    for row in list(stream_rows()):
        if row[0] < seq:
            prev = row[16]
            continue
        fixed = (*row[:15], prev)
        new_hash = row_hash(fixed)
        sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [prev, new_hash, row[0]])
        prev = new_hash
    sql("UPDATE audit_chainhead SET hash = %s WHERE id = 1", [prev])
