"""The verifier catches every kind of rewrite, done directly in the database after dropping the
append-only triggers. Each scenario runs on the suite's database (SQLite under `make test`,
PostgreSQL under `make test-services`), and again in a services-marked copy that insists on
PostgreSQL."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditCheckpoint, AuditEvent, VerificationRun
from audit.services import event_fields
from audit.verify import load_checkpoint_file, verify_chain

from .conftest import drop_triggers, make_chain, rehash_from, reseal_one, sql

pytestmark = pytest.mark.django_db

# A 12-event chain: events 1..8, a checkpoint of head 8 (its own event is 9), events 10..12.
CHAIN = 11
CHECKPOINT = 8


# Rows are named by their position in the chain (for events inserted and sealed one at a time
# on SQLite it is also their seq; on PostgreSQL seq comes from a sequence).


def _changed_field():
    sql("UPDATE audit_auditevent SET action = %s WHERE position = 4", ["document.published"])
    return 4


def _changed_details():
    sql("UPDATE audit_auditevent SET details = %s WHERE position = 6", ['{"i": 600}'])
    return 6


def _changed_field_own_hash_recomputed():
    sql("UPDATE audit_auditevent SET actor_label = %s WHERE position = 4", ["someone else"])
    reseal_one(4)
    return 5  # row 4 is self-consistent now; the link from row 5 is what breaks


def _deleted_row():
    sql("DELETE FROM audit_auditevent WHERE position = 5")
    return 5


def _inserted_row():
    # Make room after position 5 and slot a well-formed forged event in: rows 6.. move up by one.
    rows = list(AuditEvent.objects.filter(position__gte=6).order_by("-position").values_list("seq", flat=True))
    for seq in rows:
        sql("UPDATE audit_auditevent SET position = position + 1 WHERE seq = %s", [seq])
    five = AuditEvent.objects.get(position=5)
    forged = event_fields(five) | {
        "seq": AuditEvent.objects.order_by("-seq").first().seq + 1000,  # clear of the sequence
        "position": 6,
        "action": "document.withdrawn",
        "prev_hash": "forged",
    }
    AuditEvent.objects.create(**forged, hash="forged")
    # The displaced row gives up its claim on row 5 so that the forged row can make it.
    sql("UPDATE audit_auditevent SET prev_hash = %s WHERE position = 7", ["displaced"])
    sql("UPDATE audit_auditevent SET prev_hash = %s WHERE position = 6", [five.hash])
    reseal_one(6)
    forged_hash = AuditEvent.objects.get(position=6).hash
    sql("UPDATE audit_auditevent SET prev_hash = %s WHERE position = 7", [forged_hash])
    last = AuditEvent.objects.order_by("-position").first()
    sql("UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1", [last.position, last.hash])
    return 7  # the forged row links correctly; the displaced one no longer hashes


def _swapped_rows():
    sql("UPDATE audit_auditevent SET position = -1 WHERE position = 4")
    sql("UPDATE audit_auditevent SET position = 4 WHERE position = 5")
    sql("UPDATE audit_auditevent SET position = 5 WHERE position = -1")
    return 4


def _truncated_tail_and_head():
    # Cut everything after position 6 and move the head back, so the chain itself looks whole:
    # only the checkpoint of position 8 can tell.
    sql("DELETE FROM audit_auditevent WHERE position > 6")
    six = AuditEvent.objects.get(position=6)
    sql("UPDATE audit_chainhead SET seq = 6, hash = %s WHERE id = 1", [six.hash])
    return 7


def _truncated_tail_only():
    sql("DELETE FROM audit_auditevent WHERE position > 10")
    return 11


def _consistent_rewrite():
    # Change seq 3 and recompute every hash after it: internally perfect, but not what was signed.
    sql("UPDATE audit_auditevent SET target_label = %s WHERE position = 3", ["nothing to see"])
    rehash_from(3)
    return 1  # somewhere between the genesis and the checkpoint at 8


def _forged_checkpoint_signature():
    sql("UPDATE audit_auditcheckpoint SET head_hash = %s WHERE seq = %s", ["f" * 64, CHECKPOINT])
    return CHECKPOINT


SCENARIOS = {
    "changed field": _changed_field,
    "changed details": _changed_details,
    "changed field, own hash recomputed": _changed_field_own_hash_recomputed,
    "deleted row": _deleted_row,
    "inserted row": _inserted_row,
    "swapped rows": _swapped_rows,
    "truncated tail and head": _truncated_tail_and_head,
    "truncated tail": _truncated_tail_only,
    "consistent rewrite": _consistent_rewrite,
    "forged checkpoint": _forged_checkpoint_signature,
}


def _assert_caught(tamper) -> None:
    make_chain(CHAIN, checkpoint_at=CHECKPOINT)
    assert AuditCheckpoint.objects.get().seq == CHECKPOINT
    assert verify_chain().ok
    drop_triggers()
    first_bad = tamper()

    result = verify_chain()

    assert not result.ok
    assert result.first_bad_seq == first_bad, result.problems
    # Split into segments (as parallel workers do), the verdict is the same.
    for segments in (2, 3, 5):
        split = verify_chain(segments=segments)
        assert (split.ok, split.first_bad_seq) == (False, first_bad), (segments, split.problems)
    with pytest.raises(CommandError, match=f"first bad seq {first_bad}"):
        call_command("audit", "verify")
    run = VerificationRun.objects.latest()
    assert (run.status, run.first_bad_seq) == (VerificationRun.Status.FAILED, first_bad)


@pytest.mark.parametrize("tamper", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_verifier_names_first_bad_seq(tamper):
    _assert_caught(tamper)


@pytest.mark.services
@pytest.mark.parametrize("tamper", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_verifier_names_first_bad_seq_on_postgresql(tamper):
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-services)"
    _assert_caught(tamper)


def test_untouched_chain_verifies_and_prints_head(capsys):
    make_chain(5, checkpoint_at=3)
    call_command("audit", "verify")
    out = capsys.readouterr().out
    head = AuditEvent.objects.order_by("-position").first()
    assert "audit chain OK" in out
    # The verify command's own event is appended after the check: the head printed is the one checked.
    assert f"head seq {head.position - 1} hash {AuditEvent.objects.get(position=head.position - 1).hash}" in out
    assert VerificationRun.objects.latest().status == VerificationRun.Status.PASSED


def test_partner_checkpoints_catch_a_rewrite_that_also_deleted_local_checkpoints(tmp_path):
    make_chain(6, checkpoint_at=4)
    saved = tmp_path / "partner.json"
    call_command("audit", "export-checkpoints", "--output", str(saved))
    assert len(json.loads(saved.read_text())["checkpoints"]) == 1
    call_command("audit", "verify", "--checkpoints", str(saved))

    drop_triggers()
    sql("UPDATE audit_auditevent SET actor_label = %s WHERE position = 2", ["rewritten"])
    rehash_from(2)
    sql("DELETE FROM audit_auditcheckpoint")
    assert verify_chain().ok, "without checkpoints a consistent rewrite is invisible locally"

    result = verify_chain(checkpoints=load_checkpoint_file(saved.read_text().splitlines()))
    assert not result.ok
    assert result.first_bad_seq == 1
    with pytest.raises(CommandError, match="first bad seq 1"):
        call_command("audit", "verify", "--checkpoints", str(saved))


def test_partner_file_that_cannot_be_read_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(CommandError, match="cannot read checkpoints"):
        call_command("audit", "verify", "--checkpoints", str(bad))


def test_checkpoint_signed_by_an_unknown_key_fails(tmp_path, settings):
    make_chain(4, checkpoint_at=2)
    settings.KEY_DIR = tmp_path / "other-keys"  # the instance's key was replaced
    result = verify_chain()
    assert not result.ok
    assert "unknown key" in result.message


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_parallel_workers_on_postgresql_agree_with_one_pass():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-services)"
    make_chain(40, checkpoint_at=20)
    whole = verify_chain(workers=3)
    assert whole.ok and whole.events == 41, whole.problems
    drop_triggers()
    _swapped_rows()
    result = verify_chain(workers=3)
    assert (result.ok, result.first_bad_seq) == (False, 4)
