"""Encoding version 2: the content digest computed in Python and the link hash formed by the
database (PostgreSQL) or by Python (SQLite) agree, and version-1 rows keep verifying. Version 3
(the sequencer's) continues a chain begun under versions 1 and 2."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.chain import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    HASHED_FIELDS,
    compute_hash,
    content_bytes,
    content_bytes_reference,
    iso_utc,
    link_hash,
    normalise_details,
    row_hash,
    rows_mismatching,
)
from audit.models import Action, AuditEvent, ChainHead
from audit.services import event_fields, record
from audit.verify import stream_rows, verify_chain

from .conftest import drop_triggers, sql

pytestmark = pytest.mark.django_db

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


def test_content_fields_are_every_hashed_field_but_the_chain_position():
    assert set(HASHED_FIELDS) - set(CONTENT_FIELDS) == {"seq", "at", "prev_hash"}


def test_link_hash_is_sha256_of_the_documented_text():
    digest = "ab" * 32
    expected = hashlib.sha256(f"{GENESIS_HASH}|7|2026-01-02T03:04:05.000006Z|{digest}".encode()).hexdigest()
    assert link_hash(GENESIS_HASH, 7, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), digest) == expected


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**62),
    actor_id=st.none() | st.integers(min_value=1, max_value=2**62),
    text=st.text(max_size=40),
    details=st.dictionaries(st.text(max_size=8), _json, max_size=4),
    ip=st.none() | st.ip_addresses().map(str),
    at=st.datetimes(timezones=st.just(UTC)),
)
def test_v2_fast_encoding_is_byte_identical_to_the_reference(seq, actor_id, text, details, ip, at):
    fields = {
        "seq": seq,
        "at": at,
        "actor_id": actor_id,
        "actor_label": text,
        "organisation_id": None,
        "action": text[::-1],
        "outcome": "denied",
        "target_type": "t",
        "target_id": text,
        "target_label": text,
        "request_id": "",
        "ip": ip,
        "user_agent": text,
        "details": normalise_details(details),
        "version": 2,
        "prev_hash": GENESIS_HASH,
    }
    assert content_bytes(fields) == content_bytes_reference(fields)
    expected = hashlib.sha256(
        f"{GENESIS_HASH}|{seq}|{iso_utc(at)}|{hashlib.sha256(content_bytes_reference(fields)).hexdigest()}".encode()
    ).hexdigest()
    assert compute_hash(fields) == expected
    row = (*(fields[name] for name in HASHED_FIELDS), expected)
    assert row_hash(row) == expected
    assert rows_mismatching([row]) == []
    assert rows_mismatching([(*row[:16], "0" * 64)]) == [0]
    # The same fields under version 1 hash differently: the version decides the encoding.
    assert rows_mismatching([(*row[:14], 1, *row[15:])]) == [0]


def test_new_events_are_version_3_and_their_stored_hash_recomputes(alice):
    first = record(Action.AUTH_LOGIN, actor=alice, target=alice, details={"x": 1.5})
    second = record(Action.AUTH_LOGOUT, actor=alice, target=alice)
    stored = AuditEvent.objects.get(seq=first.seq)
    assert stored.version == 3 and stored.sealed
    # Python's link over the stored row equals the hash the sequencer wrote.
    assert link_hash(stored.prev_hash, stored.position, stored.sealed_at, stored.digest) == stored.hash
    assert row_hash(next(stream_rows(after=0, upto=1))) == stored.hash
    if connection.vendor == "sqlite":  # Python's text forms are the stored ones there
        assert compute_hash(event_fields(stored)) == stored.hash
    assert (first.seq, first.hash, first.at, first.digest) == (stored.seq, stored.hash, stored.at, stored.digest)
    assert second.prev_hash == first.hash and second.position == first.position + 1
    assert AuditEvent.objects.get(seq=second.seq).at >= stored.at
    assert verify_chain().ok


def _append_old(action: str, version: int) -> AuditEvent:
    # A row as version 1 or 2 wrote it, before the sequencer: linked as it was inserted, so its
    # position is its seq.
    head = ChainHead.objects.get()
    fields = event_fields(AuditEvent(action=action, target_type="t", target_id="1", target_label="x")) | {
        "seq": head.seq + 1,
        "position": head.seq + 1,
        "at": datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "version": version,
        "prev_hash": head.hash,
        "details": {"old": True},
    }
    event = AuditEvent.objects.create(**fields, hash=compute_hash(fields))
    ChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


def _append_v1(action: str) -> AuditEvent:
    return _append_old(action, 1)


def test_a_chain_begun_under_version_1_keeps_verifying_and_continues_under_version_3():
    old = [_append_v1(Action.AUTH_LOGIN), _append_v1(Action.AUTH_LOGOUT), _append_old(Action.AUTH_LOGIN, 2)]
    new = record(Action.DOCUMENT_VIEWED, target=("sharing.document", "d", "Finding"))
    assert new.version == 3 and new.prev_hash == old[-1].hash and new.position == 4
    result = verify_chain()
    assert result.ok, result.problems
    assert result.events == 4

    drop_triggers()
    sql("UPDATE audit_auditevent SET details = %s WHERE seq = %s", ['{"old": false}', old[0].seq])
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == old[0].seq


def test_changing_a_v2_row_is_caught():
    old = [_append_old(Action.AUTH_LOGIN, 2), _append_old(Action.AUTH_LOGOUT, 2)]
    record(Action.DOCUMENT_VIEWED)
    assert verify_chain().ok
    drop_triggers()
    sql("UPDATE audit_auditevent SET target_label = %s WHERE seq = %s", ["y", old[1].seq])
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == old[1].seq


def test_relabelling_a_v3_row_as_v1_is_caught():
    record(Action.AUTH_LOGIN)
    record(Action.AUTH_LOGOUT)
    drop_triggers()
    sql("UPDATE audit_auditevent SET version = 1 WHERE position = 1")
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 1


def test_changing_the_time_of_a_v3_row_is_caught():
    record(Action.AUTH_LOGIN)
    record(Action.AUTH_LOGOUT)
    drop_triggers()
    sql("UPDATE audit_auditevent SET at = %s WHERE position = 2", [datetime(2020, 1, 1, tzinfo=UTC)])
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 2


def test_the_returned_event_is_the_stored_row_field_for_field(alice):
    event = record(Action.USER_UPDATED, actor=alice, target=alice, details={"field": "display_name"})
    stored = AuditEvent.objects.get(seq=event.seq)
    for field in AuditEvent._meta.concrete_fields:
        assert getattr(event, field.attname) == getattr(stored, field.attname), field.attname
    assert not event._state.adding
