"""Concurrent writers on the real PostgreSQL never fork the chain or leave a gap in its positions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from audit.models import Action, AuditEvent
from audit.services import record
from audit.verify import verify_chain

WRITERS = 8
APPENDS = 200


class _RolledBack(Exception):
    pass


def _writer(index: int, barrier: threading.Barrier, committed: list[int], errors: list[BaseException]) -> None:
    done = 0
    try:
        barrier.wait()
        for i in range(APPENDS):
            if i % 7 == 3:
                # An audited change whose transaction fails: its event must vanish with it.
                try:
                    with transaction.atomic():
                        record(Action.DOCUMENT_UPDATED, target=("t", f"{index}-{i}", "rolled back"))
                        raise _RolledBack
                except _RolledBack:
                    pass
            elif i % 5 == 0:
                with transaction.atomic():
                    record(Action.DOCUMENT_CREATED, target=("t", f"{index}-{i}", "a"))
                    record(Action.DOCUMENT_PUBLISHED, target=("t", f"{index}-{i}", "b"))
                done += 2
            else:
                record(Action.DOCUMENT_VIEWED, target=("t", f"{index}-{i}", "c"), details={"writer": index})
                done += 1
    except BaseException as exc:  # noqa: BLE001 — reported to the test thread
        errors.append(exc)
    finally:
        committed[index] = done
        connections.close_all()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_a_gap_free_verified_chain():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-services)"
    barrier = threading.Barrier(WRITERS)
    committed = [0] * WRITERS
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_writer, args=(i, barrier, committed, errors)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not errors, errors
    # The suite seals inline (in each writer's transaction); tests/audit/test_sequencer.py runs
    # the same load against two sequencers. seq comes from a sequence (rolled-back inserts leave
    # holes); the chain's positions have none.
    seqs = list(AuditEvent.objects.order_by("position").values_list("position", flat=True))
    assert len(seqs) == sum(committed) > WRITERS * APPENDS
    assert seqs == list(range(1, len(seqs) + 1))
    assert not AuditEvent.objects.filter(target_label="rolled back").exists()
    result = verify_chain()
    assert result.ok, result.problems
    assert result.events == len(seqs)
