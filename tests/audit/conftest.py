from __future__ import annotations

import pytest
from django.db import connection

from audit import triggers
from audit.chain import digest_v3, link_hash, row_hash, v3_row_values
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


def _resealed(row: tuple, prev: str) -> tuple[str, str]:
    """(digest, hash) a row would have with `prev` before it: its content digest recomputed
    (version 3) from the text forms the database renders, then its link."""
    if row[14] >= 3:
        digest = digest_v3(v3_row_values(row))
        return digest, link_hash(prev, row[0], row[19], digest)
    return row[18], row_hash((*row[:15], prev, *row[16:]))


def rehash_from(position: int) -> None:
    """Rewrite every digest and hash from `position` on so the chain is internally consistent
    again: the careful attacker, whom only signed checkpoints can catch."""
    prev = None
    for row in list(stream_rows()):
        if row[0] < position:
            prev = row[16]
            continue
        digest, new_hash = _resealed(row, prev)
        sql(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s, digest = %s WHERE position = %s",
            [prev, new_hash, digest, row[0]],
        )
        prev = new_hash
    sql("UPDATE audit_chainhead SET hash = %s WHERE id = 1", [prev])


def reseal_one(position: int) -> None:
    """Make the row at `position` consistent in itself again (digest and hash), keeping its
    prev_hash: the rows after it are left alone."""
    row = next(iter(stream_rows(after=position - 1, upto=position)))
    digest, new_hash = _resealed(row, row[15])
    sql("UPDATE audit_auditevent SET hash = %s, digest = %s WHERE position = %s", [new_hash, digest, position])
