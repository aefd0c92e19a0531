"""The one write path: what an event holds, and that its hash survives the database."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_bytes,
    canonical_bytes_reference,
    compute_hash,
    normalise_details,
    row_hash,
    rows_mismatching,
)
from audit.context import AuditContext, activate, deactivate
from audit.models import Action, AuditEvent, ChainHead, Outcome
from audit.services import event_fields, record
from audit.verify import stream_rows, verify_chain

pytestmark = pytest.mark.django_db


def test_events_chain_from_genesis_with_gap_free_positions(alice):
    first = record(Action.AUTH_LOGIN, actor=alice, target=alice)
    second = record(Action.AUTH_LOGOUT, actor=alice, target=alice)
    assert (first.position, second.position) == (1, 2)
    assert second.seq > first.seq
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (2, second.hash)


def test_event_snapshots_actor_target_and_request_context(alice):
    token = activate(AuditContext(request_id="req-12345678", ip="2001:0db8:0000::0001", user_agent="Firefox"))
    try:
        event = record(Action.USER_UPDATED, actor=alice, target=alice, details={"field": "display_name"})
    finally:
        deactivate(token)
    stored = AuditEvent.objects.get(seq=event.seq)
    assert stored.actor_id == alice.pk
    assert stored.actor_label == "Alice Analyst <alice@ukasi.example>"
    assert stored.organisation_id == alice.organisation_id
    assert (stored.target_type, stored.target_id) == ("accounts.user", str(alice.code))
    assert (stored.request_id, stored.user_agent) == ("req-12345678", "Firefox")
    assert stored.ip == "2001:db8::1"
    assert stored.outcome == Outcome.ALLOWED


def test_awkward_values_are_stored_and_still_verify():
    # NUL characters (refused by PostgreSQL), over-long text, floats jsonb rewrites, NaN,
    # non-JSON types and an IPv4-mapped IPv6 address all have to come back hashing the same.
    token = activate(AuditContext(request_id="r" * 100, ip="::ffff:192.0.2.1", user_agent="UA\x00" * 200))
    try:
        event = record(
            "x" * 100,
            target=("thing", "id\x00" * 40, "label" * 100),
            details={"nul": "a\x00b", "big": 1e16, "neg0": -0.0, "nan": float("nan"), "when": object(), "é": [1.5]},
        )
    finally:
        deactivate(token)
    stored = AuditEvent.objects.get(seq=event.seq)
    # Recomputed from the text forms the database gives back (version 3 hashes those).
    assert row_hash(next(stream_rows(after=stored.position - 1, upto=stored.position))) == stored.hash
    if connection.vendor == "sqlite":
        assert compute_hash(event_fields(stored)) == stored.hash
    assert "\x00" not in stored.user_agent and len(stored.user_agent) == 300
    assert stored.details["big"] == 10**16 and stored.details["nan"] is None
    assert verify_chain().ok


def test_unknown_target_kind_is_a_programming_error():
    with pytest.raises(TypeError):
        record(Action.AUTH_LOGIN, target=42)


def test_anonymous_and_system_actors_are_labelled():
    from django.contrib.auth.models import AnonymousUser

    assert record(Action.AUTH_LOGIN_FAILED, actor=AnonymousUser()).actor_label == "anonymous"
    assert record(Action.AUDIT_CHECKPOINT).actor_label == "system"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**62),
    actor_id=st.none() | st.integers(min_value=1, max_value=2**62),
    text=st.text(max_size=40),
    details=st.dictionaries(st.text(max_size=8), _json, max_size=4),
    ip=st.none() | st.ip_addresses().map(str),
    at=st.datetimes(timezones=st.just(__import__("datetime").UTC)),
)
def test_fast_encoding_is_byte_identical_to_the_reference(seq, actor_id, text, details, ip, at):
    fields = {
        "seq": seq,
        "at": at,
        "actor_id": actor_id,
        "actor_label": text,
        "organisation_id": None,
        "action": text[::-1],
        "outcome": "allowed",
        "target_type": "t",
        "target_id": text,
        "target_label": text,
        "request_id": "",
        "ip": ip,
        "user_agent": text,
        "details": normalise_details(details),
        "version": 1,
        "prev_hash": GENESIS_HASH,
    }
    reference = canonical_bytes_reference(fields)
    assert canonical_bytes(fields) == reference
    row = (*(fields[name] for name in HASHED_FIELDS), hashlib.sha256(reference).hexdigest())
    assert rows_mismatching([row]) == []
    assert rows_mismatching([(*row[:16], "0" * 64)]) == [0]


def test_whole_second_timestamps_verify():
    # SQLite stores a time with zero microseconds without its fraction.
    from datetime import UTC, datetime
    from unittest import mock

    with mock.patch("audit.services.timezone.now", return_value=datetime(2026, 1, 1, 12, 0, tzinfo=UTC)):
        record(Action.AUTH_LOGIN)
    record(Action.AUTH_LOGOUT)
    assert verify_chain().ok
