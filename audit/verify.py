"""Recompute the whole chain and check every signed checkpoint against it.

Streams the table in keyset-paginated chunks (`WHERE seq > last ORDER BY seq LIMIT n`) with
plain cursor rows, so memory stays flat however long the chain is, and no long transaction or
server-side cursor is held open.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, connections

from . import signing
from .chain import GENESIS_HASH, HASHED_FIELDS, rows_mismatching
from .models import AuditCheckpoint, AuditEvent, ChainHead

# Every stored field of an event: the hashed ones, then the hash itself.
COLUMNS = (*HASHED_FIELDS, "hash")


# `at` as its canonical text, formatted by the database: parsing a datetime and formatting it
# again in Python costs more per row than everything else in verification together.
_AT_AS_TEXT = {
    "postgresql": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC, without the fraction when it is zero.
    "sqlite": "substr(replace(at, ' ', 'T') || '.000000', 1, 26) || 'Z'",
}


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


def stream_chunks(*, chunk_size: int = 5000, after: int = 0, upto: int | None = None) -> Iterator[list[tuple]]:
    """Event rows as tuples in COLUMNS order (`at` as canonical text), ascending seq, one chunk
    at a time."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    cols = ", ".join(_AT_AS_TEXT.get(connection.vendor, "at") if c == "at" else c for c in COLUMNS)
    bound = "" if upto is None else " AND seq <= %s"
    sql = f"SELECT {cols} FROM {table} WHERE seq > %s{bound} ORDER BY seq LIMIT %s"  # noqa: S608 (constant names, bound values)  # nosec B608
    last = after
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, upto, chunk_size] if upto is not None else [last, chunk_size])
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]
            if len(rows) < chunk_size:
                return


def stream_rows(*, chunk_size: int = 5000, after: int = 0, upto: int | None = None) -> Iterator[tuple]:
    for rows in stream_chunks(chunk_size=chunk_size, after=after, upto=upto):
        yield from rows


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


@dataclass
class Segment:
    """What one pass over the seq range [lo, hi] found, for merging with its neighbours."""

    lo: int
    hi: int
    events: int = 0
    first_seq: int | None = None
    first_prev: str = ""
    last_seq: int | None = None
    last_hash: str = ""
    problems: list[tuple[int, str]] = field(default_factory=list)
    checkpoint_hits: list[tuple[int, bool]] = field(default_factory=list)


MAX_PROBLEMS = 100


def scan_segment(lo: int, hi: int, checkpoint_hashes: dict[int, str], chunk_size: int) -> Segment:
    """Recompute every hash in [lo, hi] and the links and sequence inside it. The link into the
    segment's first row is left to the merge, which knows the previous segment's last hash."""
    seg = Segment(lo=lo, hi=hi)
    problems = seg.problems
    expected, prev = lo, None
    for rows in stream_chunks(chunk_size=chunk_size, after=lo - 1, upto=hi):
        mismatching = rows_mismatching(rows)
        if not mismatching and _chunk_is_whole(rows, expected, prev):
            # The usual case, checked a list at a time: every row hashes, seq runs on without a
            # gap and every row links to the one before it. Anything else takes the row-by-row
            # path below, which names each problem.
            first, last = rows[0], rows[-1]
            if prev is None:
                seg.first_seq, seg.first_prev = first[0], first[15]
            for seq in sorted(s for s in checkpoint_hashes if first[0] <= s <= last[0]):
                seg.checkpoint_hits.append((seq, rows[seq - first[0]][16] == checkpoint_hashes[seq]))
            prev, expected = last[16], last[0] + 1
            seg.events += len(rows)
            continue
        changed = {rows[i][0] for i in mismatching}
        for row in rows:
            seq, stored = row[0], row[16]
            if prev is None:
                seg.first_seq, seg.first_prev = seq, row[15]
            elif row[15] != prev:
                problems.append((seq, f"seq {seq} does not link to the row before it"))
            if seq != expected:
                problems.append((expected, f"seq {expected} is missing (next row is seq {seq})"))
            if seq in changed:
                problems.append((seq, f"seq {seq} was changed after it was written"))
            if seq in checkpoint_hashes:
                seg.checkpoint_hits.append((seq, stored == checkpoint_hashes[seq]))
            prev, expected = stored, seq + 1
        seg.events += len(rows)
        if len(problems) > MAX_PROBLEMS:
            del problems[MAX_PROBLEMS:]
    seg.last_seq, seg.last_hash = (expected - 1, prev) if prev is not None else (None, "")
    return seg


def _chunk_is_whole(rows: list[tuple], expected: int, prev: str | None) -> bool:
    """True when the chunk's seqs are exactly expected, expected + 1, … and each row's prev_hash
    is the hash before it: two list comparisons instead of a Python loop over the rows."""
    if prev is not None and rows[0][15] != prev:
        return False
    if [row[0] for row in rows] != list(range(expected, expected + len(rows))):
        return False
    return [row[15] for row in rows[1:]] == [row[16] for row in rows[:-1]]


def _scan_in_child(args: tuple) -> Segment:
    try:
        return scan_segment(*args)
    finally:
        connections.close_all()


def default_workers() -> int:
    """Processes for a full verification: one per core, up to 4; one where other processes
    cannot see the data (an in-memory SQLite database, or rows of a transaction still open)."""
    if connection.in_atomic_block:
        return 1
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def _scan(head_seq: int, hashes: dict[int, str], *, segments: int, workers: int, chunk_size: int) -> list[Segment]:
    segments = max(1, min(segments, head_seq or 1))
    step = -(-max(head_seq, 1) // segments)
    ranges = [(lo, min(lo + step - 1, head_seq), hashes, chunk_size) for lo in range(1, max(head_seq, 1) + 1, step)]
    if workers <= 1 or len(ranges) == 1:
        return [scan_segment(*r) for r in ranges]
    # Each worker reads and hashes its own range: the hash of a row depends only on the row, so
    # the ranges are independent and only their boundaries are joined up afterwards.
    connections.close_all()  # a forked child must open its own connection, never share ours
    with multiprocessing.get_context("fork").Pool(min(workers, len(ranges))) as pool:
        return pool.map(_scan_in_child, ranges, chunksize=1)


def verify_chain(
    *,
    checkpoints: list[Checkpoint] | None = None,
    chunk_size: int = 5000,
    workers: int = 1,
    segments: int | None = None,
) -> Result:
    """Recompute every hash, every prev link and the gap-free sequence, and compare the chain
    with every checkpoint (the local ones, or `checkpoints` if given, e.g. a partner's file).

    With `workers` > 1 the seq range is split between that many processes (see
    `default_workers`); the result is the same as a single pass.
    """
    result = Result()
    # Checkpoints first, then the head: every checkpoint read is then at or below the head.
    cps = local_checkpoints() if checkpoints is None else checkpoints
    head = ChainHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)
    head_seq, head_hash = head
    by_seq = _check_signatures(cps, result)
    result.checkpoints = len(cps)
    hashes = {seq: cp.head_hash for seq, cp in by_seq.items()}

    parts = _scan(head_seq, hashes, segments=segments or workers, workers=workers, chunk_size=chunk_size)

    # Join the segments in order: the boundary links and gaps, then every finding replayed in seq
    # order, exactly as one pass from the genesis would have met them.
    findings: list[tuple[int, int, str | bool]] = []
    prev_seq, prev_hash = 0, GENESIS_HASH
    for seg in parts:
        findings += [(seq, 0, message) for seq, message in seg.problems]
        findings += [(seq, 1, matched) for seq, matched in seg.checkpoint_hits]
        result.events += seg.events
        if seg.first_seq is None:
            continue
        if seg.first_prev != prev_hash:
            findings.append((seg.first_seq, 0, f"seq {seg.first_seq} does not link to the row before it"))
        if seg.first_seq == seg.lo and seg.lo != prev_seq + 1:
            findings.append((prev_seq + 1, 0, f"seq {prev_seq + 1} is missing (next row is seq {seg.first_seq})"))
        prev_seq, prev_hash = seg.last_seq, seg.last_hash
    findings.sort(key=lambda f: (f[0], f[1]))

    last_good_checkpoint = 0
    for seq, kind, value in findings:
        if kind == 0:
            result.fail(seq, str(value))
        elif value:
            last_good_checkpoint = seq
        else:
            # A consistent rewrite re-hashes everything after the change, so only the range is
            # known: the first seq that may be bad is the one after the last matching checkpoint.
            message = (
                f"the chain between seq {last_good_checkpoint + 1} and {seq} was rewritten: "
                f"seq {seq} differs from its signed checkpoint"
            )
            if result.ok:
                result.fail(last_good_checkpoint + 1, message)
            else:
                # A row already failed on its own: this mismatch is its consequence.
                result.problems.append(f"seq {seq}: {message}")

    last_seq = prev_seq
    if last_seq < head_seq:
        result.fail(last_seq + 1, f"the chain ends at seq {last_seq} but its head says seq {head_seq}")
    elif head_seq and prev_hash != head_hash:
        result.fail(head_seq, f"the head hash does not match seq {head_seq}")
    beyond = [s for s in by_seq if s > last_seq]
    if beyond:
        result.fail(
            last_seq + 1,
            f"the chain ends at seq {last_seq} but a signed checkpoint covers seq {max(beyond)} (truncated)",
        )
    result.head_seq, result.head_hash = last_seq, prev_hash
    return result
