"""Recompute the whole chain and check every signed checkpoint against it.

Streams the table in keyset-paginated chunks (`WHERE seq > last ORDER BY seq LIMIT n`) with
plain cursor rows, so memory stays flat however long the chain is, and no long transaction or
server-side cursor is held open.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from . import signing
from .chain import GENESIS_HASH, row_hash
from .models import AuditCheckpoint, AuditEvent, ChainHead

COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "organisation_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "target_label",
    "request_id",
    "ip",
    "user_agent",
    "details",
    "version",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    at: datetime | str
    key_id: str
    signature: str
    source: str = "local"


@dataclass
class Result:
    ok: bool = True
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    first_bad_seq: int | None = None
    message: str = ""
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int, message: str) -> None:
        # Keep the earliest failure as the headline; later ones are often its consequences.
        if self.ok or (self.first_bad_seq is not None and seq < self.first_bad_seq):
            self.first_bad_seq = seq
            self.message = message
        self.ok = False
        self.problems.append(f"seq {seq}: {message}")


def stream_rows(*, chunk_size: int = 5000, upto: int | None = None) -> Iterator[tuple]:
    """Every event row as a tuple in COLUMNS order, ascending seq, chunk by chunk."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    bound = "" if upto is None else " AND seq <= %s"
    sql = f"SELECT {cols} FROM {table} WHERE seq > %s{bound} ORDER BY seq LIMIT %s"  # noqa: S608 (names are constants)
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, upto, chunk_size] if upto is not None else [last, chunk_size])
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]
            if len(rows) < chunk_size:
                return


def local_checkpoints() -> list[Checkpoint]:
    return [
        Checkpoint(seq=c.seq, head_hash=c.head_hash, at=c.at, key_id=c.key_id, signature=c.signature)
        for c in AuditCheckpoint.objects.order_by("seq")
    ]


def load_checkpoint_file(lines: Iterable[str]) -> list[Checkpoint]:
    """Checkpoints as `audit export-checkpoints` wrote them (a JSON document)."""
    data = json.loads("".join(lines))
    items = data["checkpoints"] if isinstance(data, dict) else data
    return [
        Checkpoint(
            seq=int(item["seq"]),
            head_hash=str(item["head_hash"]),
            at=str(item["at"]),
            key_id=str(item["key_id"]),
            signature=str(item["signature"]),
            source="file",
        )
        for item in items
    ]


def _check_signatures(checkpoints: list[Checkpoint], result: Result) -> dict[int, Checkpoint]:
    keys = signing.trusted_public_keys()
    by_seq: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        public = keys.get(cp.key_id)
        message = signing.checkpoint_message(seq=cp.seq, head_hash=cp.head_hash, at=cp.at, key_id=cp.key_id)
        if public is None:
            result.fail(cp.seq, f"{cp.source} checkpoint at seq {cp.seq} is signed by unknown key {cp.key_id}")
        elif not signing.signature_valid(public, message, cp.signature):
            result.fail(cp.seq, f"{cp.source} checkpoint at seq {cp.seq} has an invalid signature")
        else:
            other = by_seq.get(cp.seq)
            if other is not None and other.head_hash != cp.head_hash:
                result.fail(cp.seq, f"two validly signed checkpoints disagree about seq {cp.seq}")
            by_seq[cp.seq] = cp
    return by_seq


def verify_chain(*, checkpoints: list[Checkpoint] | None = None, chunk_size: int = 5000) -> Result:
    """Recompute every hash, every prev link and the gap-free sequence, and compare the chain
    with every checkpoint (the local ones, or `checkpoints` if given, e.g. a partner's file)."""
    result = Result()
    # Checkpoints first, then the head: every checkpoint read is then at or below the head.
    cps = local_checkpoints() if checkpoints is None else checkpoints
    head = ChainHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)
    head_seq, head_hash = head
    by_seq = _check_signatures(cps, result)
    result.checkpoints = len(cps)

    expected, prev = 1, GENESIS_HASH
    last_good_checkpoint = 0
    for row in stream_rows(chunk_size=chunk_size, upto=head_seq):
        seq = row[0]
        if seq != expected:
            result.fail(expected, f"seq {expected} is missing (next row is seq {seq})")
            expected = seq
        if row[15] != prev:
            result.fail(seq, f"seq {seq} does not link to the row before it")
        if row_hash(row) != row[16]:
            result.fail(seq, f"seq {seq} was changed after it was written")
        cp = by_seq.get(seq)
        if cp is not None:
            if row[16] != cp.head_hash:
                # A consistent rewrite re-hashes everything after the change, so only the
                # range is known: the first seq that may be bad is the one after the last
                # checkpoint that still matched.
                message = (
                    f"the chain between seq {last_good_checkpoint + 1} and {seq} was rewritten: "
                    f"seq {seq} differs from its signed checkpoint"
                )
                if result.ok:
                    result.fail(last_good_checkpoint + 1, message)
                else:
                    # A row already failed on its own: this mismatch is its consequence.
                    result.problems.append(f"seq {seq}: {message}")
            else:
                last_good_checkpoint = seq
        prev = row[16]
        expected = seq + 1
        result.events += 1
        if not result.ok and len(result.problems) >= 50:
            break

    last_seq = expected - 1
    if result.ok or len(result.problems) < 50:
        if last_seq < head_seq:
            result.fail(last_seq + 1, f"the chain ends at seq {last_seq} but its head says seq {head_seq}")
        elif head_seq and prev != head_hash:
            result.fail(head_seq, f"the head hash does not match seq {head_seq}")
        beyond = [s for s in by_seq if s > last_seq]
        if beyond:
            result.fail(
                last_seq + 1,
                f"the chain ends at seq {last_seq} but a signed checkpoint covers seq {max(beyond)} (truncated)",
            )
    result.head_seq, result.head_hash = last_seq, prev
    return result
