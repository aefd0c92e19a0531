"""Turn an Inspect eval log (`.eval` or `.json`) into a plain `ParsedEvalLog`.

Pure and dependency-light on purpose: it runs in the worker on the decrypted stream of an
attachment, so it neither imports inspect_ai (about 190 MB) nor writes anything to disk. The
input is hostile until proven otherwise: every failure — a zip bomb, too many members, a huge
member, a truncated archive, JSON that is not an Inspect log or is nested too deeply, random
bytes — raises `EvalLogError` with a reason a person can read, after bounded work
(`EvalLogLimits`). Errors raised by the source stream itself (I/O, decryption) are not the log's
fault and propagate unchanged, so that the caller may retry.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any, BinaryIO

from .errors import EvalLogError, EvalLogLimits
from .fields import build
from .jsonscan import Each, ObjectScanner
from .parsed import ParsedEvalLog, ParsedModelUsage, ParsedSample, ParsedSampleScore, ParsedScore
from .ziplog import MemberReader, read_directory

__all__ = [
    "EvalLogError",
    "EvalLogLimits",
    "ParsedEvalLog",
    "ParsedModelUsage",
    "ParsedScore",
    "parse_eval_log",
]

logger = logging.getLogger(__name__)

# The members of a log that are kept; `samples` (and the rest) are skipped.
WANTED = frozenset({"version", "status", "eval", "plan", "results", "stats", "error"})
# Of each sample, only what identifies it and its scores (whose values alone are kept).
SAMPLE_WANTED = frozenset({"id", "epoch", "scores"})
SAMPLES = "samples"
SAMPLE_PREFIX = "samples/"
HEADER = "header.json"
# Inspect's letter grades (inspect_ai.scorer: CORRECT, INCORRECT, PARTIAL, NOANSWER) as numbers,
# as its own `value_to_float` reads them; also yes/no and true/false.
GRADES = {"c": 1.0, "i": 0.0, "p": 0.5, "n": 0.0, "yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}
MAX_SAMPLE_ID = 255
MAX_SCORER_NAME = 255
# A log still being written has no header yet, only the journal's start record.
JOURNAL_START = "_journal/start.json"


class _SourceFailure(Exception):
    """Wraps an exception raised by the caller's stream, to tell it apart from the log's faults."""


class _Source:
    """The caller's stream, with its own exceptions wrapped in `_SourceFailure`, and a few
    bytes peeked at the start given back by `read`."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending = b""

    def read(self, size: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        try:
            data = self._stream.read(size)
        except Exception as exc:
            raise _SourceFailure() from exc
        if not isinstance(data, bytes | bytearray):
            raise _SourceFailure() from TypeError("the stream must yield bytes")
        return bytes(data)

    def peek(self, size: int) -> bytes:
        """Up to `size` first bytes, left to be read again (by seeking back when possible)."""
        position = self._position()
        head = b""
        while len(head) < size:
            data = self.read(size - len(head))
            if not data:
                break
            head += data
        if position is not None:
            try:
                self._stream.seek(position)
                return head
            except (OSError, ValueError):
                pass
        self._pending = head + self._pending
        return head

    def _position(self) -> int | None:
        try:
            return self._stream.tell() if not self._pending and self._stream.seekable() else None
        except (AttributeError, OSError, ValueError):
            return None

    def seekable_size(self) -> int | None:
        """The stream's size from the current position if it can seek, else None."""
        start = self._position()
        if start is None:
            return None
        try:
            end = self._stream.seek(0, io.SEEK_END)
            self._stream.seek(start)
        except (AttributeError, OSError, ValueError):
            return None
        return end - start


def _format_of(filename: str | None, source: _Source) -> str:
    """ "eval" or "json": from the file name's suffix, or else from the first bytes."""
    lowered = (filename or "").lower()
    if lowered.endswith(".eval"):
        return "eval"
    if lowered.endswith(".json"):
        return "json"
    head = source.peek(1024)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "eval"
    if head.lstrip(b" \t\r\n").startswith(b"{"):
        return "json"
    if not head:
        raise EvalLogError("the log is empty")
    raise EvalLogError("not an Inspect log: neither a zip archive (.eval) nor a JSON document (.json)")


def _buffer(source: _Source, limits: EvalLogLimits) -> io.BytesIO:
    """The whole archive in memory (the zip directory is at its end), refusing more than the cap."""
    buffer = io.BytesIO()
    while True:
        chunk = source.read(1024 * 1024)
        if not chunk:
            break
        buffer.write(chunk)
        if buffer.tell() > limits.max_log_bytes:
            raise EvalLogError(f"the log is larger than the {limits.max_log_bytes} bytes allowed")
    return buffer


class _Offset:
    """A seekable stream seen from its current position, so that offsets start at 0."""

    def __init__(self, stream: BinaryIO, source: _Source) -> None:
        self._stream, self._source, self._base = stream, source, stream.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._stream.seek(self._base + offset) - self._base
        except Exception as exc:
            raise _SourceFailure() from exc

    def read(self, size: int) -> bytes:
        # Raw streams may return less than asked before their end: the zip reader wants all.
        data = b""
        while len(data) < size:
            piece = self._source.read(size - len(data))
            if not piece:
                break
            data += piece
        return data


def _parse_eval(
    stream: BinaryIO, source: _Source, limits: EvalLogLimits, samples: list[ParsedSample] | None
) -> dict[str, Any]:
    size = source.seekable_size()
    if size is None:
        archive: Any = _buffer(source, limits)
        size = archive.tell()
    elif size > limits.max_log_bytes:
        raise EvalLogError(f"the log is larger than the {limits.max_log_bytes} bytes allowed")
    else:
        archive = _Offset(stream, source)
    members = read_directory(archive, size, limits, frozenset({HEADER, JOURNAL_START}))
    member = members.get(HEADER) or members.get(JOURNAL_START)
    if member is None:
        raise EvalLogError("not an Inspect log: the archive has no header.json")
    header = member_scanner(archive, size, member, limits).members(WANTED)
    if member.name == JOURNAL_START:
        header.setdefault("status", "started")
    if samples is not None:
        _eval_samples(archive, size, limits, samples)
    return header


def member_scanner(archive, size: int, member, limits: EvalLogLimits) -> ObjectScanner:
    """A scanner over one member of an .eval archive, decompressed as read, within the limits."""
    reader = MemberReader(archive, size, member, limits)
    return ObjectScanner(
        reader.read,
        max_bytes=limits.max_member_bytes,
        max_keep=limits.max_member_bytes,
        max_depth=limits.max_json_depth,
    )


def _eval_samples(archive, size: int, limits: EvalLogLimits, samples: list[ParsedSample]) -> None:
    """Each `samples/<id>_epoch_<n>.json` member's id, epoch and scores, in archive order, the
    members together within `max_samples_bytes` decompressed."""
    members = read_directory(archive, size, limits, frozenset(), prefix=SAMPLE_PREFIX)
    left = limits.max_samples_bytes
    for member in sorted(members.values(), key=lambda m: m.offset):
        if member.size > left:
            raise EvalLogError(f"the log's samples are larger than the {limits.max_samples_bytes} bytes allowed")
        left -= member.size
        samples.append(_sample(member_scanner(archive, size, member, limits).members(SAMPLE_WANTED)))


def _parse_json(source: _Source, limits: EvalLogLimits, samples: list[ParsedSample] | None) -> dict[str, Any]:
    scanner = ObjectScanner(
        source.read, max_bytes=limits.max_log_bytes, max_keep=limits.max_member_bytes, max_depth=limits.max_json_depth
    )
    each = None
    if samples is not None:
        each = Each(SAMPLES, SAMPLE_WANTED, lambda raw: samples.append(_sample(raw)), limits.max_members)
    return scanner.members(WANTED, each=each)


def _sample(raw: dict[str, Any]) -> ParsedSample:
    """A sample's id (text or integer), epoch (from 1) and each scorer's value as a number."""
    sample_id, epoch, scores = raw.get("id"), raw.get("epoch", 1), raw.get("scores") or {}
    if isinstance(sample_id, bool) or not isinstance(sample_id, str | int) or not str(sample_id).strip():
        raise EvalLogError("not an Inspect log: a sample has no id")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise EvalLogError("not an Inspect log: a sample's epoch is not a positive whole number")
    if not isinstance(scores, dict):
        raise EvalLogError("not an Inspect log: a sample's scores are not an object")
    sample_id = str(sample_id)
    if len(sample_id) > MAX_SAMPLE_ID:
        raise EvalLogError(f"a sample id is longer than {MAX_SAMPLE_ID} characters")
    kept: list[ParsedSampleScore] = []
    for name, score in scores.items():
        value = score.get("value") if isinstance(score, dict) else None
        if isinstance(value, dict):  # one value per key, as Inspect's dict-valued scorers give
            kept += [ParsedSampleScore(f"{name}/{key}", score_value(part)) for key, part in value.items()]
        else:
            kept.append(ParsedSampleScore(str(name), score_value(value)))
    if any(len(score.scorer) > MAX_SCORER_NAME for score in kept):
        raise EvalLogError(f"a scorer's name is longer than {MAX_SCORER_NAME} characters")
    return ParsedSample(sample_id=sample_id, epoch=epoch, scores=tuple(kept))


def _refuse_repeats(samples: list[ParsedSample]) -> None:
    seen: set[tuple[str, int]] = set()
    for sample in samples:
        if (sample.sample_id, sample.epoch) in seen:
            raise EvalLogError("not an Inspect log: a sample appears twice for the same epoch")
        seen.add((sample.sample_id, sample.epoch))
        if len({score.scorer for score in sample.scores}) != len(sample.scores):
            raise EvalLogError("not an Inspect log: a sample names the same scorer twice")


def score_value(value: Any) -> float | None:
    """A sample score's value as a number: numbers and booleans as they are, Inspect's letter
    grades (C, I, P, N) and yes/no/true/false as 1, 0, 0.5, numeric text as its number; None for
    anything else (free text is never kept)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in GRADES:
            return GRADES[text]
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_eval_log(
    stream: BinaryIO, *, filename: str | None = None, limits: EvalLogLimits | None = None, samples: bool = False
) -> ParsedEvalLog:
    """Parse the log read from `stream` (binary, seekable or not, read from its current
    position). The format comes from `filename`'s suffix (.eval or .json) or, without one,
    from the first bytes. With `samples`, each sample's id, epoch and score values too.
    Raises `EvalLogError` for anything wrong with the log; an exception from the stream itself
    propagates unchanged."""
    limits = limits or EvalLogLimits.from_settings()
    source = _Source(stream)
    found: list[ParsedSample] | None = [] if samples else None
    try:
        log_format = _format_of(filename, source)
        if log_format == "eval":
            header = _parse_eval(stream, source, limits, found)
        else:
            header = _parse_json(source, limits, found)
        _refuse_repeats(found or [])
        return ParsedEvalLog(log_format=log_format, **build(header), samples=tuple(found or ()))
    except EvalLogError:
        raise
    except _SourceFailure as failure:
        raise failure.__cause__ from None  # type: ignore[misc]
    except (RecursionError, MemoryError):
        raise EvalLogError("the log could not be read within the limits") from None
    except Exception as exc:
        # The promise to callers is that a hostile log raises EvalLogError and nothing else.
        # Only the exception's type is logged: its message could quote the plaintext.
        logger.warning("unexpected %s while parsing an eval log", type(exc).__name__)
        raise EvalLogError("the log could not be read") from None
