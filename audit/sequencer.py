"""The sequencer: links inserted events into the chain, a batch at a time.

A writer's transaction only inserts its event (unsealed: a digest, no position). The sequencer
takes the chain head — the one lock of the whole design, held by the sequencer alone, for one
batch — reads the unsealed events other transactions have committed, gives each the next
position, links it to the one before (chain.link_hash) and stamps the batch's sealing time, in
one update and one commit, then signs a checkpoint of the new head (signing.py).

Two sequencers never fork the chain: the second waits for the head row and, under READ
COMMITTED, then reads the head and the unsealed events as the first one committed them; the
sealing update only touches rows still unsealed and the batch is refused whole if any was not.
A sequencer killed mid-batch loses nothing: its transaction rolls back, the events stay
unsealed, and the next batch seals them.

How events get sealed is `settings.ACCORD_AUDIT_SEALING`:
- "inline": in the writer's own transaction, straight after the insert. The embedded default on
  SQLite, where the writer holds the database's only write lock from BEGIN to COMMIT anyway, so
  sealing there costs no extra waiting, and the test suite, so a chain is whole when asserted;
- "after_commit": by the writer's thread once its transaction has committed, in a batch of its
  own (PostgreSQL without a sequencer process);
- "sequencer": only by `manage.py audit sequencer` or the `audit.sequence` task (production).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import signing
from .chain import GENESIS_HASH, iso_utc, link_hash
from .models import AuditCheckpoint, AuditEvent, ChainHead

logger = logging.getLogger("accord.audit")

BATCH = 2000
MODES = ("inline", "after_commit", "sequencer")

_HEAD = ChainHead._meta.db_table
_EVENTS = AuditEvent._meta.db_table
_LOCK_HEAD = {
    # The sequencer's lock: every other sequencer (and checkpoint) waits here for this batch.
    "postgresql": f"SELECT seq, hash FROM {_HEAD} WHERE id = 1 FOR UPDATE",  # noqa: S608 (constant names)  # nosec B608
    # SQLite runs IMMEDIATE transactions: being in one already means holding the write lock.
    "sqlite": f"SELECT seq, hash FROM {_HEAD} WHERE id = 1",  # noqa: S608 (constant names)  # nosec B608
}
_PENDING = f"SELECT seq, digest FROM {_EVENTS} WHERE position IS NULL ORDER BY seq LIMIT %s"  # noqa: S608 (constant names, bound values)  # nosec B608
_PG_SEAL = (
    f"UPDATE {_EVENTS} AS e SET position = v.position, prev_hash = v.prev, hash = v.hash, sealed_at = %s "  # noqa: S608 (constant names, bound values)  # nosec B608
    "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(seq, position, prev, hash) "
    "WHERE e.seq = v.seq AND e.position IS NULL"
)
_SQLITE_SEAL = (
    f"UPDATE {_EVENTS} SET position = %s, prev_hash = %s, hash = %s, sealed_at = %s "  # noqa: S608 (constant names, bound values)  # nosec B608
    "WHERE seq = %s AND position IS NULL"
)
_MOVE_HEAD = f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608 (constant names, bound values)  # nosec B608


class SealConflict(RuntimeError):
    """An event of the batch was sealed by someone else: the whole batch is rolled back."""


def mode() -> str:
    value = getattr(settings, "ACCORD_AUDIT_SEALING", "") or (
        "inline" if connection.vendor == "sqlite" else "after_commit"
    )
    if value not in MODES:
        raise ValueError(f"ACCORD_AUDIT_SEALING must be one of {MODES}, not {value!r}")
    return value


def lock_head(cursor) -> tuple[int, str]:
    """(position, hash) of the chain head, locked until the surrounding transaction ends."""
    statement = _LOCK_HEAD.get(connection.vendor, _LOCK_HEAD["postgresql"])
    cursor.execute(statement)
    row = cursor.fetchone()
    if row is None:
        _recreate_head()
        cursor.execute(statement)
        row = cursor.fetchone()
    return row[0], row[1]


def _recreate_head() -> None:
    # The row is seeded by a migration; it is only missing after a test-database flush. Rebuilt
    # from the last sealed event so that the chain continues rather than restarting at 1.
    last = AuditEvent.objects.filter(position__isnull=False).order_by("-position")
    seq, head_hash = last.values_list("position", "hash").first() or (0, GENESIS_HASH)
    ChainHead.objects.get_or_create(pk=1, defaults={"seq": seq, "hash": head_hash})


_keys: dict[str, signing.SigningKey] = {}


def _signing_key() -> signing.SigningKey:
    # Loaded once per key file: a batch must not pay for reading and parsing a PEM file.
    path = str(signing.key_path())
    key = _keys.get(path)
    if key is None:
        key = _keys[path] = signing.load()
    return key


_last_signed = {"at": float("-inf")}


def _checkpoint_due() -> bool:
    # A checkpoint per batch, at most one per ACCORD_AUDIT_CHECKPOINT_SECONDS: under load a
    # batch every few milliseconds would otherwise fill the table with signatures.
    now = time.monotonic()
    if now - _last_signed["at"] < getattr(settings, "ACCORD_AUDIT_CHECKPOINT_SECONDS", 1):
        return False
    _last_signed["at"] = now
    return True


def seal_locked(*, limit: int = BATCH, sign: bool = False) -> dict[int, tuple[int, str, str, datetime]]:
    """Seal up to `limit` unsealed events, oldest seq first, inside the caller's transaction.

    Returns {seq: (position, prev_hash, hash, sealed_at)} of what it sealed. With `sign`, a
    checkpoint of the new head is signed in the same transaction.
    """
    with connection.cursor() as cursor:
        head_position, head_hash = lock_head(cursor)
        cursor.execute(_PENDING, [limit])
        pending = cursor.fetchall()
        if not pending:
            return {}
        sealed_at = timezone.now()
        at_text = iso_utc(sealed_at)
        sealed: dict[int, tuple[int, str, str, datetime]] = {}
        position, prev = head_position, head_hash
        for seq, digest in pending:
            position += 1
            event_hash = link_hash(prev, position, at_text, digest)
            sealed[seq] = (position, prev, event_hash, sealed_at)
            prev = event_hash
        if connection.vendor == "postgresql":
            columns = list(zip(*((seq, *link[:3]) for seq, link in sealed.items()), strict=True))
            cursor.execute(_PG_SEAL, [sealed_at, *(list(c) for c in columns)])
            changed = cursor.rowcount
        else:
            stamp = connection.ops.adapt_datetimefield_value(sealed_at)
            changed = 0
            for seq, (pos, before, event_hash, _at) in sealed.items():
                cursor.execute(_SQLITE_SEAL, [pos, before, event_hash, stamp, seq])
                changed += cursor.rowcount
        if changed != len(sealed):
            raise SealConflict(f"{len(sealed) - changed} events of the batch were sealed by another sequencer")
        cursor.execute(_MOVE_HEAD, [position, prev])
    if sign and _checkpoint_due():
        key = _signing_key()
        message = signing.checkpoint_message(seq=position, head_hash=prev, at=sealed_at, key_id=key.key_id)
        AuditCheckpoint(
            seq=position, head_hash=prev, at=sealed_at, key_id=key.key_id, signature=signing.sign(key, message)
        ).save(force_insert=True)
    return sealed


def seal_batch(*, limit: int = BATCH, sign: bool = True) -> int:
    """One batch in a transaction of its own (one commit): how many events it sealed."""
    with transaction.atomic():
        return len(seal_locked(limit=limit, sign=sign))


def seal_pending(*, limit: int = BATCH, sign: bool = True) -> int:
    """Seal batches until nothing committed is left unsealed: how many events in all."""
    total = 0
    while True:
        count = seal_batch(limit=limit, sign=sign)
        total += count
        if count < limit:
            return total


def seal_after_commit() -> None:
    """The "after_commit" mode: once the writer's transaction commits, seal what it committed.
    Registered once per transaction, however many events it inserted (a rolled-back
    transaction's callbacks are dropped with it, so the next one registers afresh)."""
    # Django keeps (savepoint ids at registration, callback, robust): the same ids mean the same
    # transaction (or savepoint) as now.
    here = set(connection.savepoint_ids)
    if any(entry[1] is _seal_now and entry[0] == here for entry in connection.run_on_commit):
        return
    transaction.on_commit(_seal_now, robust=True)


def _seal_now() -> None:
    try:
        seal_pending(sign=False)
    except Exception:
        # The event is committed; an unsealed one is sealed by the next pass, and /readyz shows
        # the lag meanwhile. The writer's request must not fail for it.
        logger.exception("audit sealing after commit failed")


def seal_lag_seconds() -> float | None:
    """Age of the oldest unsealed event, in seconds (None: every event is sealed)."""
    oldest = AuditEvent.objects.filter(position__isnull=True).order_by("seq").values_list("at", flat=True).first()
    if oldest is None:
        return None
    return max(0.0, (timezone.now() - oldest).total_seconds())


def run(
    *,
    batch: int = BATCH,
    idle: float = 0.05,
    should_stop: Callable[[], bool] = lambda: False,
    deadline: float | None = None,
    sign: bool = True,
    on_batch: Callable[[int], Any] | None = None,
) -> int:
    """The sequencer loop: seal batches, sleep `idle` seconds when the queue is empty, until
    `should_stop()` or the monotonic `deadline`. Returns how many events it sealed."""
    total = 0
    while not should_stop() and (deadline is None or time.monotonic() < deadline):
        try:
            count = seal_batch(limit=batch, sign=sign)
        except SealConflict:
            # Another sequencer raced this one to the same events: nothing was written here.
            logger.warning("audit sequencer batch conflicted with another sequencer; retrying")
            continue
        total += count
        if on_batch is not None and count:
            on_batch(count)
        if count < batch:
            time.sleep(idle)
    return total
