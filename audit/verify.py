"""Recompute the chain and check every signed checkpoint against it.

The chain is read in order of `position` (the sequencer's order; a version 1 or 2 row's
position is its seq). On PostgreSQL each range of positions is first checked set-wise by the
database itself (`_PG_RANGE`: every version-3 row's content digest and link hash recomputed with
`sha256()`, every link compared with the row before, the count compared with the range), so
only a summary row crosses the wire; a range that is not perfect (or holds version 1 and 2
rows, whose JSON encoding only Python reproduces) is then streamed and checked row by row in
Python, which names each problem. On SQLite every range takes the Python path. Rows are read in
keyset-paginated chunks, so memory stays flat and no long transaction is held open.

`incremental` starts at the last checkpoint a passed run vouched for (`VerificationRun
.checkpoint_seq`) instead of the genesis: the routine job. A full run is the check on demand.
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
from .chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    at_text_sql,
    content_sql,
    digest_v3,
    rows_mismatching,
    sha256_hex_sql,
    text_sql,
)
from .models import AuditCheckpoint, AuditEvent, ChainHead, VerificationRun

# Every stored field of an event as streamed: the hashed ones (position in place of seq), the
# hash itself, then seq, digest, sealed_at, and ip and details as text (version 3's forms).
COLUMNS = (*HASHED_FIELDS, "hash", "seq", "digest", "sealed_at", "ip", "details")
_TABLE = AuditEvent._meta.db_table


def _select_list(vendor: str) -> str:
    columns = []
    for index, name in enumerate(COLUMNS):
        if index == 0:
            columns.append("position")
        elif name in ("at", "sealed_at"):
            columns.append(at_text_sql(vendor, name))
        elif index >= 20:
            columns.append(text_sql(vendor, name, name))
        else:
            columns.append(name)
    return ", ".join(columns)


def _pg_range_sql() -> str:
    link = f"prev_hash || '|' || position::text || '|' || {at_text_sql('postgresql', 'sealed_at')} || '|' || digest"
    return (
        f"WITH c AS (SELECT position, prev_hash, hash, lag(hash) OVER (ORDER BY position) AS before, "  # noqa: S608 (constant names, bound values)  # nosec B608
        f"CASE WHEN version >= 3 THEN digest = {sha256_hex_sql(content_sql('postgresql'))} "
        f"AND hash = {sha256_hex_sql(link)} END AS ok "
        f"FROM {_TABLE} WHERE position BETWEEN %s AND %s) "
        "SELECT count(*), min(position), max(position), "
        "count(*) FILTER (WHERE ok IS NOT TRUE OR (before IS NOT NULL AND prev_hash IS DISTINCT FROM before)), "
        "(array_agg(prev_hash ORDER BY position))[1], (array_agg(hash ORDER BY position DESC))[1] FROM c"
    )


_PG_RANGE = _pg_range_sql()
_PG_HASHES_AT = f"SELECT position, hash FROM {_TABLE} WHERE position = ANY(%s)"  # noqa: S608 (constant names, bound values)  # nosec B608
_PG_UNSEALED_BAD = (
    f"SELECT seq FROM {_TABLE} WHERE position IS NULL AND (version < 3 OR hash IS NOT NULL "  # noqa: S608 (constant names)  # nosec B608
    f"OR digest IS DISTINCT FROM {sha256_hex_sql(content_sql('postgresql'))}) ORDER BY seq LIMIT 100"
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
    # Where the run started (0: the genesis), the last signed checkpoint it found matching (the
    # next incremental run starts there), and how many events were still unsealed.
    from_seq: int = 0
    checkpoint_seq: int | None = None
    unsealed: int = 0

    def fail(self, seq: int, message: str) -> None:
        # Keep the earliest failure as the headline; later ones are often its consequences.
        if self.ok or (self.first_bad_seq is not None and seq < self.first_bad_seq):
            self.first_bad_seq = seq
            self.message = message
        self.ok = False
        self.problems.append(f"seq {seq}: {message}")


def stream_chunks(*, chunk_size: int = 5000, after: int = 0, upto: int | None = None) -> Iterator[list[tuple]]:
    """Sealed event rows as tuples in COLUMNS order (`at` as canonical text), ascending
    position, one chunk at a time."""
    cols = _select_list(connection.vendor)
    bound = "" if upto is None else " AND position <= %s"
    sql = f"SELECT {cols} FROM {_TABLE} WHERE position > %s{bound} ORDER BY position LIMIT %s"  # noqa: S608 (constant names, bound values)  # nosec B608
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


def unsealed_rows() -> list[tuple]:
    """The events not yet sealed, in COLUMNS order (position, link and hash all null)."""
    cols = _select_list(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cols} FROM {_TABLE} WHERE position IS NULL ORDER BY seq")  # noqa: S608 (constant names)  # nosec B608
        return cursor.fetchall()


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
    """Recompute every hash in positions [lo, hi] and the links and sequence inside it. The link
    into the segment's first row is left to the merge, which knows the previous segment's last
    hash."""
    seg = Segment(lo=lo, hi=hi)
    state = {"expected": lo, "prev": None}
    set_wise = connection.vendor == "postgresql"
    for start in range(lo, hi + 1, chunk_size):
        end = min(start + chunk_size - 1, hi)
        if set_wise and _range_is_whole(seg, state, start, end, checkpoint_hashes):
            continue
        for rows in stream_chunks(chunk_size=chunk_size, after=start - 1, upto=end):
            _scan_rows(seg, state, rows, checkpoint_hashes)
    seg.last_seq, seg.last_hash = (state["expected"] - 1, state["prev"]) if state["prev"] is not None else (None, "")
    return seg


def _range_is_whole(seg: Segment, state: dict, start: int, end: int, checkpoint_hashes: dict[int, str]) -> bool:
    """PostgreSQL: check positions [start, end] set-wise. True when every row there is a
    well-formed, correctly hashed version-3 row linked to the one before, with no gap; the
    bookkeeping is then done from the summary alone."""
    with connection.cursor() as cursor:
        cursor.execute(_PG_RANGE, [start, end])
        count, first, last, bad, first_prev, last_hash = cursor.fetchone()
        if bad or count != end - start + 1 or first != start or last != end or first != state["expected"]:
            return False
        if state["prev"] is not None and first_prev != state["prev"]:
            return False
        wanted = [p for p in checkpoint_hashes if start <= p <= end]
        if wanted:
            cursor.execute(_PG_HASHES_AT, [wanted])
            for position, stored in cursor.fetchall():
                seg.checkpoint_hits.append((position, stored == checkpoint_hashes[position]))
    if state["prev"] is None:
        seg.first_seq, seg.first_prev = start, first_prev
    state["prev"], state["expected"] = last_hash, end + 1
    seg.events += count
    return True


def _scan_rows(seg: Segment, state: dict, rows: list[tuple], checkpoint_hashes: dict[int, str]) -> None:
    problems = seg.problems
    expected, prev = state["expected"], state["prev"]
    mismatching = rows_mismatching(rows)
    if not mismatching and _chunk_is_whole(rows, expected, prev):
        # The usual case, checked a list at a time: every row hashes, positions run on without
        # a gap and every row links to the one before it. Anything else takes the row-by-row
        # path below, which names each problem.
        first, last = rows[0], rows[-1]
        if prev is None:
            seg.first_seq, seg.first_prev = first[0], first[15]
        for seq in sorted(s for s in checkpoint_hashes if first[0] <= s <= last[0]):
            seg.checkpoint_hits.append((seq, rows[seq - first[0]][16] == checkpoint_hashes[seq]))
        state["prev"], state["expected"] = last[16], last[0] + 1
        seg.events += len(rows)
        return
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
    state["prev"], state["expected"] = prev, expected


def check_unsealed(result: Result) -> int:
    """Events not yet sealed still carry their content digest: a changed one fails here. Returns
    how many unsealed events there are."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_UNSEALED_BAD)
            bad = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT count(*) FROM {_TABLE} WHERE position IS NULL")  # noqa: S608 (constant names)  # nosec B608
            count = cursor.fetchone()[0]
    else:
        rows = unsealed_rows()
        count = len(rows)
        bad = [
            row[17]
            for row in rows
            if row[14] < 3
            or row[16] is not None
            or row[18] != digest_v3((row[17], row[1], *row[2:11], row[20], row[12], row[21], row[14]))
        ]
    for seq in bad:
        result.fail(0, f"event {seq}, not yet sealed, was changed after it was written")
    return count


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


def _scan(
    head_seq: int, hashes: dict[int, str], *, segments: int, workers: int, chunk_size: int, start: int = 1
) -> list[Segment]:
    span = max(head_seq - start + 1, 1)
    segments = max(1, min(segments, span))
    step = -(-span // segments)
    last = max(head_seq, start)
    ranges = [(lo, min(lo + step - 1, last), hashes, chunk_size) for lo in range(start, last + 1, step)]
    if workers <= 1 or len(ranges) == 1:
        return [scan_segment(*r) for r in ranges]
    # Each worker reads and hashes its own range: the hash of a row depends only on the row, so
    # the ranges are independent and only their boundaries are joined up afterwards.
    connections.close_all()  # a forked child must open its own connection, never share ours
    with multiprocessing.get_context("fork").Pool(min(workers, len(ranges))) as pool:
        return pool.map(_scan_in_child, ranges, chunksize=1)


def last_verified_checkpoint() -> int | None:
    """The checkpoint the latest passed run vouched for: where an incremental run starts."""
    run = (
        VerificationRun.objects.filter(status=VerificationRun.Status.PASSED, checkpoint_seq__isnull=False)
        .order_by("-finished_at", "-pk")
        .values_list("checkpoint_seq", flat=True)
        .first()
    )
    return run


def verify_chain(
    *,
    checkpoints: list[Checkpoint] | None = None,
    chunk_size: int = 5000,
    workers: int = 1,
    segments: int | None = None,
    incremental: bool = False,
) -> Result:
    """Recompute every hash, every prev link and the gap-free sequence of positions, check the
    events not yet sealed against their digests, and compare the chain with every checkpoint
    (the local ones, or `checkpoints` if given, e.g. a partner's file).

    With `workers` > 1 the position range is split between that many processes (see
    `default_workers`); the result is the same as a single pass. With `incremental`, the chain
    is checked from the last checkpoint a passed run vouched for (its hash must still be the
    signed one), not from the genesis.
    """
    result = Result()
    # Checkpoints first, then the head: every checkpoint read is then at or below the head.
    cps = local_checkpoints() if checkpoints is None else checkpoints
    head = ChainHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)
    head_seq, head_hash = head
    start_seq, start_hash = 0, GENESIS_HASH
    if incremental:
        since = last_verified_checkpoint()
        known = {cp.seq: cp for cp in cps}
        if since is not None and since in known and since <= head_seq:
            start_seq, start_hash = since, known[since].head_hash
            cps = [cp for cp in cps if cp.seq >= since]
    by_seq = _check_signatures(cps, result)
    result.checkpoints = len(cps)
    result.from_seq = start_seq
    hashes = {seq: cp.head_hash for seq, cp in by_seq.items() if seq > start_seq}
    if start_seq:
        stored = AuditEvent.objects.filter(position=start_seq).values_list("hash", flat=True).first()
        if stored != start_hash or start_seq not in by_seq:
            result.fail(start_seq, f"seq {start_seq} differs from its signed checkpoint, where this run starts")

    parts = _scan(
        head_seq, hashes, segments=segments or workers, workers=workers, chunk_size=chunk_size, start=start_seq + 1
    )

    # Join the segments in order: the boundary links and gaps, then every finding replayed in seq
    # order, exactly as one pass from the genesis would have met them.
    findings: list[tuple[int, int, str | bool]] = []
    prev_seq, prev_hash = start_seq, start_hash
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

    last_good_checkpoint = start_seq
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
    if start_seq and start_seq in by_seq and result.ok:
        last_good_checkpoint = max(last_good_checkpoint, start_seq)
    result.checkpoint_seq = last_good_checkpoint if result.ok and last_good_checkpoint in by_seq else None
    result.unsealed = check_unsealed(result)
    return result
