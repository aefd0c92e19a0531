"""The sequencer: writers only insert; events are linked into the chain later, in batches.

Run on the suite's database; the services-marked tests insist on PostgreSQL, where writers and
sequencers really run at the same time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections, transaction

from audit import sequencer
from audit.models import Action, AuditCheckpoint, AuditEvent, ChainHead
from audit.services import record
from audit.verify import verify_chain

from .conftest import sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequencer_mode(settings):
    """Production's arrangement: nothing but the sequencer seals."""
    settings.ACCORD_AUDIT_SEALING = "sequencer"
    settings.ACCORD_AUDIT_CHECKPOINT_SECONDS = 0


def test_an_append_only_inserts_the_event_unsealed_and_readable(sequencer_mode, alice):
    event = record(Action.DOCUMENT_VIEWED, actor=alice, target=("sharing.document", "d1", "Finding"))
    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.action, stored.actor_id, stored.target_id) == (Action.DOCUMENT_VIEWED, alice.pk, "d1")
    assert not stored.sealed and stored.hash is None and stored.prev_hash is None
    assert len(stored.digest) == 64
    assert ChainHead.objects.get().seq == 0
    result = verify_chain()
    assert result.ok and result.unsealed == 1 and result.events == 0


def test_a_batch_seals_every_waiting_event_in_seq_order_and_signs_the_head(sequencer_mode):
    events = [record(Action.DOCUMENT_VIEWED, target=("t", str(i), "x")) for i in range(5)]
    assert sequencer.seal_batch(limit=3) == 3
    assert sequencer.seal_batch(limit=3) == 2
    assert sequencer.seal_batch(limit=3) == 0
    sealed = list(AuditEvent.objects.order_by("position").values_list("seq", "position"))
    assert sealed == [(e.seq, i + 1) for i, e in enumerate(events)]
    # A checkpoint per batch, of the head that batch left.
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3, 5]
    assert AuditCheckpoint.objects.get(seq=5).head_hash == AuditEvent.objects.get(position=5).hash
    result = verify_chain()
    assert result.ok and result.events == 5 and result.unsealed == 0, result.problems


def test_a_changed_unsealed_event_is_caught_before_it_is_sealed(sequencer_mode):
    from .conftest import drop_triggers

    event = record(Action.DOCUMENT_VIEWED, target=("t", "1", "x"))
    drop_triggers()
    sql("UPDATE audit_auditevent SET target_label = %s WHERE seq = %s", ["y", event.seq])
    result = verify_chain()
    assert not result.ok and f"event {event.seq}, not yet sealed, was changed" in result.message


def test_the_database_lets_an_unsealed_event_be_sealed_once_and_nothing_else(sequencer_mode):
    event = record(Action.DOCUMENT_VIEWED, target=("t", "1", "x"))
    # Its content cannot change, sealed or not.
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("UPDATE audit_auditevent SET target_label = %s WHERE seq = %s", ["y", event.seq])
    # Half a seal (no hash) is refused too.
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("UPDATE audit_auditevent SET position = 1 WHERE seq = %s", [event.seq])
    assert sequencer.seal_batch() == 1
    sealed = AuditEvent.objects.get(seq=event.seq)
    # Sealed: cannot be sealed again (another position, link or hash), nor changed, nor deleted.
    for statement, params in [
        ("UPDATE audit_auditevent SET position = 7, prev_hash = %s, hash = %s WHERE seq = %s", ["a" * 64, "b" * 64]),
        ("UPDATE audit_auditevent SET hash = %s WHERE seq = %s", ["c" * 64]),
        ("UPDATE audit_auditevent SET sealed_at = sealed_at WHERE seq = %s", []),
        ("UPDATE audit_auditevent SET action = %s WHERE seq = %s", ["auth.login"]),
        ("DELETE FROM audit_auditevent WHERE seq = %s", []),
    ]:
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(statement, [*params, event.seq])
    assert AuditEvent.objects.get(seq=event.seq).hash == sealed.hash
    assert verify_chain().ok


def test_an_old_row_cannot_be_sealed_again(sequencer_mode):
    # Version 1 and 2 rows were linked as they were written: no update at all is allowed.
    record(Action.DOCUMENT_VIEWED)
    sequencer.seal_batch()
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("UPDATE audit_auditevent SET version = 2 WHERE position = 1")


def test_after_commit_mode_seals_once_the_writer_commits(settings, django_capture_on_commit_callbacks):
    settings.ACCORD_AUDIT_SEALING = "after_commit"
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = record(Action.DOCUMENT_CREATED)
        second = record(Action.DOCUMENT_PUBLISHED)
        assert not AuditEvent.objects.get(seq=first.seq).sealed
    assert len(callbacks) == 1  # one pass per transaction, however many events
    assert list(AuditEvent.objects.order_by("position").values_list("seq", flat=True)) == [first.seq, second.seq]
    assert verify_chain().ok
    # A transaction that rolls back takes its pass with it; the next one still gets its own.
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Action.DOCUMENT_CREATED)
        raise RuntimeError
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        third = record(Action.DOCUMENT_UPDATED)
    assert len(callbacks) == 1 and AuditEvent.objects.get(seq=third.seq).position == 3


def test_incremental_verification_starts_at_the_last_verified_checkpoint(sequencer_mode):
    from django.core.management import call_command

    from audit.models import VerificationRun

    for i in range(4):
        record(Action.DOCUMENT_VIEWED, target=("t", str(i), "x"))
    sequencer.seal_batch()
    call_command("audit", "verify")
    full = VerificationRun.objects.latest()
    assert (full.from_seq, full.checkpoint_seq) == (0, 4)
    sequencer.seal_batch()  # the verify command's own event
    for i in range(3):
        record(Action.DOCUMENT_VIEWED, target=("t", f"n{i}", "x"))
    sequencer.seal_batch()
    call_command("audit", "verify", "--incremental")
    run = VerificationRun.objects.latest()
    assert run.status == VerificationRun.Status.PASSED and (run.from_seq, run.checkpoint_seq) == (4, 8)
    assert run.events_checked == 4  # the verify event and three new ones, not the first four
    # A consistent rewrite before the checkpoint it starts from changes that checkpoint's hash:
    # caught where the run starts.
    from .conftest import drop_triggers, rehash_from

    drop_triggers()
    sql("UPDATE audit_auditevent SET target_label = %s WHERE position = 2", ["rewritten"])
    rehash_from(2)
    result = verify_chain(incremental=True)
    assert not result.ok and result.first_bad_seq == 8 and result.from_seq == 8


# --- PostgreSQL: real concurrency -------------------------------------------------------------


def _pg():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-services)"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_appends_do_not_wait_for_each_other(sequencer_mode):
    """Transaction A appends and stays open; B appends and commits at once. Under the old chain
    head lock B waited until A ended: here B's lock timeout would fail it instead."""
    _pg()
    a_appended, b_done, errors = threading.Event(), threading.Event(), []

    def a():
        try:
            with transaction.atomic():
                record(Action.DOCUMENT_CREATED, target=("t", "a", "A"))
                a_appended.set()
                b_done.wait(timeout=10)
        except BaseException as exc:  # noqa: BLE001 — reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    def b():
        try:
            a_appended.wait(timeout=10)
            with transaction.atomic():
                sql("SET LOCAL lock_timeout = '500ms'")
                sql("SET LOCAL statement_timeout = '2s'")
                record(Action.DOCUMENT_CREATED, target=("t", "b", "B"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            b_done.set()
            connections.close_all()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert set(AuditEvent.objects.values_list("target_id", flat=True)) == {"a", "b"}
    sequencer.seal_pending()
    assert verify_chain().ok


WRITERS = 8
APPENDS = 60


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_sequencers_with_eight_writers_never_fork_gap_or_duplicate(sequencer_mode):
    _pg()
    stop = threading.Event()
    errors: list[BaseException] = []
    sealed_by = [0, 0]

    def writer(index: int) -> None:
        try:
            for i in range(APPENDS):
                if i % 5 == 0:
                    with transaction.atomic():
                        record(Action.DOCUMENT_CREATED, target=("t", f"{index}-{i}", "a"))
                        record(Action.DOCUMENT_PUBLISHED, target=("t", f"{index}-{i}", "b"))
                else:
                    record(Action.DOCUMENT_VIEWED, target=("t", f"{index}-{i}", "c"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    def run_sequencer(index: int) -> None:
        try:
            sealed_by[index] = sequencer.run(batch=7, idle=0.001, should_stop=stop.is_set)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    sequencers = [threading.Thread(target=run_sequencer, args=(i,)) for i in range(2)]
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in sequencers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    deadline = time.monotonic() + 30
    while AuditEvent.objects.filter(position__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in sequencers:
        thread.join(timeout=30)

    assert not errors, errors
    expected = WRITERS * (APPENDS + APPENDS // 5)
    positions = list(AuditEvent.objects.order_by("position").values_list("position", flat=True))
    assert positions == list(range(1, expected + 1))  # every event sealed, once, without a gap
    assert sum(sealed_by) == expected and all(sealed_by), sealed_by  # both took part
    result = verify_chain()
    assert result.ok and result.events == expected and result.unsealed == 0, result.problems


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_sequencer_killed_mid_batch_loses_nothing(sequencer_mode, key_dir):
    """SIGKILL a real `manage.py audit sequencer` process while its batch waits on a row this
    test holds: its transaction dies with it, and the next sequencer seals every event."""
    _pg()
    events = [record(Action.DOCUMENT_VIEWED, target=("t", str(i), "x")).seq for i in range(50)]
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "ACCORD_KEY_DIR": str(key_dir), "ACCORD_AUDIT_SEALING": "sequencer"}
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            # Hold the 30th event: the sequencer's sealing update will wait for it, mid-batch.
            cursor.execute("SELECT seq FROM audit_auditevent WHERE seq = %s FOR UPDATE", [events[29]])
        process = subprocess.Popen(  # noqa: S603 — our own interpreter and manage.py
            [sys.executable, str(Path(__file__).resolve().parents[2] / "manage.py"), "audit", "sequencer"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE audit_auditevent%%'"
                    )
                    if cursor.fetchone()[0]:
                        break
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
            else:
                pytest.fail("the sequencer never reached its sealing update")
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
            process.stderr.close()
    finally:
        holder.rollback()
        holder.close()
    # Nothing of the killed batch was committed: every event still waits, none is lost.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state <> 'idle'"
            )
            if not cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    assert AuditEvent.objects.filter(position__isnull=True).count() == 50
    # (After the previous test's flush the head row is only rebuilt by the first sealing.)
    assert ChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() in (None, 0)
    assert sequencer.seal_pending() == 50
    assert list(AuditEvent.objects.order_by("position").values_list("seq", flat=True)) == events
    result = verify_chain()
    assert result.ok and result.events == 50, result.problems


# --- Reads: the request's own insert, nothing more -------------------------------------------


def _writes(queries) -> list[str]:
    def writes(sql: str) -> bool:
        text = sql.lstrip().upper()
        return text.startswith(("INSERT", "UPDATE", "DELETE")) or (text.startswith("WITH") and " INSERT INTO " in text)

    return [q["sql"] for q in queries if writes(q["sql"])]


@pytest.mark.parametrize("page", ["document_detail", "document_list"])
def test_an_audited_read_writes_its_event_and_takes_no_chain_lock(
    sequencer_mode, verified_client, alice, finding, page
):
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = verified_client(alice)
    url = reverse(f"sharing:{page}", args=[finding.code] if page == "document_detail" else [])
    client.get(url)  # the session's once-a-minute bookkeeping, out of the way
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    writes = _writes(queries.captured_queries)
    events = [w for w in writes if "audit_auditevent" in w]
    assert len(events) == 1 and events[0].lstrip().upper().startswith(("INSERT", "WITH"))
    # A list also indexes what it showed, in the same transaction: one more insert, no update.
    assert all(w.lstrip().upper().startswith("INSERT") for w in writes if "audit_auditevent" not in w)
    assert not [q for q in queries.captured_queries if "audit_chainhead" in q["sql"]]
    action = Action.DOCUMENT_VIEWED if page == "document_detail" else Action.DOCUMENT_LISTED
    assert not AuditEvent.objects.filter(action=action).latest("seq").sealed


def test_the_database_and_python_agree_on_awkward_text(sequencer_mode):
    """Version 3 is computed by the database on PostgreSQL and by Python on SQLite and in the
    verifier's row-by-row path: quotes, backslashes, commas and non-ASCII must come out the same."""
    from audit.chain import row_hash
    from audit.verify import stream_rows

    label = "it's a \\ back,slash 'é' \\x41 NULL"
    event = record(
        Action.DOCUMENT_VIEWED, target=("t", "q'uote", label), details={"k\\'": "v,'\\", "n": [1.5, None, "ü"]}
    )
    sequencer.seal_batch()
    stored = AuditEvent.objects.get(seq=event.seq)
    assert stored.target_label == label
    (row,) = list(stream_rows(after=stored.position - 1, upto=stored.position))
    assert row_hash(row) == stored.hash
    assert verify_chain().ok


def test_the_sequencer_task_seals_what_waits_and_the_command_does_too(sequencer_mode, capsys):
    from django.core.management import call_command

    from audit.tasks import sequence

    for i in range(3):
        record(Action.DOCUMENT_VIEWED, target=("t", str(i), "x"))
    assert sequence.delay(seconds=0.2).get() == 3
    record(Action.DOCUMENT_VIEWED)
    call_command("audit", "sequencer", "--once")
    assert "sealed 1 events" in capsys.readouterr().out
    assert not AuditEvent.objects.filter(position__isnull=True).exists()
    assert verify_chain().ok
