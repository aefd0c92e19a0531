"""Read one member of an `.eval` archive in bounded memory and time.

Inspect's `.eval` logs are zip archives whose entries are zstd-compressed (zip method 93), which
Python's `zipfile` cannot read before 3.14. Only the central directory and one small member
(`header.json`) are needed, so this module reads the zip structures itself: every entry is
counted against the limit while the directory is walked, nothing but the wanted entries is
kept, and the member is decompressed as a stream that stops at the size and ratio limits —
whatever sizes the archive declares. Its size and CRC-32 are checked at the end.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

from .errors import EvalLogError, EvalLogLimits

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_EOCD_SIG, _ZIP64_LOCATOR_SIG, _ZIP64_EOCD_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL_SIG, _LOCAL_SIG = b"PK\x01\x02", b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF

STORED, DEFLATED, ZSTD = 0, 8, 93
_METHODS = {STORED, DEFLATED, ZSTD}
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800

# zstd frames declare the window the decoder must allocate (outside Python's heap); Inspect's
# compression levels need a few MiB, a hostile frame could ask for 2 GiB.
MAX_ZSTD_WINDOW = 1 << 24
# The ratio limit applies past this much output: tiny members legitimately compress well.
RATIO_FLOOR = 1024 * 1024
CHUNK = 64 * 1024
# zstd reads its input ahead by this much: small, so that the ratio is measured closely.
ZSTD_READ_SIZE = 16 * 1024

_NOT_ZIP = "not an .eval log: not a zip archive, or a truncated one (no end-of-archive record)"
_CORRUPT = "the .eval archive is corrupt or truncated"


@dataclass(frozen=True)
class Member:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    offset: int


def _read_exact(fp: BinaryIO, offset: int, length: int) -> bytes:
    fp.seek(offset)
    data = fp.read(length)
    if len(data) != length:
        raise EvalLogError(_CORRUPT)
    return data


def _directory_location(fp: BinaryIO, size: int) -> tuple[int, int, int]:
    """(entry count, directory offset, directory size), from the end-of-archive records."""
    tail_length = min(size, _EOCD.size + _MAX_COMMENT)
    tail_start = size - tail_length
    tail = _read_exact(fp, tail_start, tail_length)
    # As zipfile does: the record is the last 22 bytes, or else the last signature in the tail.
    index = len(tail) - _EOCD.size if tail[-_EOCD.size :].startswith(_EOCD_SIG) else tail.rfind(_EOCD_SIG)
    if index < 0 or len(tail) - index < _EOCD.size:
        raise EvalLogError(_NOT_ZIP)
    _, disk, directory_disk, _, count, directory_size, directory_offset, _ = _EOCD.unpack_from(tail, index)
    end = tail_start + index
    if disk != 0 or directory_disk != 0:
        raise EvalLogError("multi-part zip archives are not supported")
    locator_at = end - _ZIP64_LOCATOR.size
    if locator_at >= 0 and _read_exact(fp, locator_at, 4) == _ZIP64_LOCATOR_SIG:
        _, _, record_offset, _ = _ZIP64_LOCATOR.unpack(_read_exact(fp, locator_at, _ZIP64_LOCATOR.size))
        if record_offset + _ZIP64_EOCD.size > locator_at:
            raise EvalLogError(_CORRUPT)
        record = _ZIP64_EOCD.unpack(_read_exact(fp, record_offset, _ZIP64_EOCD.size))
        if record[0] != _ZIP64_EOCD_SIG:
            raise EvalLogError(_CORRUPT)
        count, directory_size, directory_offset = record[7], record[8], record[9]
        end = record_offset
    if directory_offset + directory_size > end:
        raise EvalLogError(_CORRUPT)
    return count, directory_offset, directory_size


def _zip64_sizes(extra: bytes, size: int, compressed_size: int, offset: int) -> tuple[int, int, int]:
    """Replace the 0xFFFFFFFF placeholders with the values of the zip64 extra field."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, position)
        body = extra[position + 4 : position + 4 + length]
        if tag == 0x0001:
            values = [value for (value,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            fields = [size, compressed_size, offset]
            for i, field in enumerate(fields):
                if field == 0xFFFFFFFF:
                    if not values:
                        raise EvalLogError(_CORRUPT)
                    fields[i] = values.pop(0)
            return fields[0], fields[1], fields[2]
        position += 4 + length
    return size, compressed_size, offset


def read_directory(
    fp: BinaryIO, size: int, limits: EvalLogLimits, wanted: frozenset[str], *, prefix: str | None = None
) -> dict[str, Member]:
    """The wanted entries of the archive (and, with `prefix`, every entry whose name starts with
    it), after counting every entry against the limit."""
    count, offset, directory_size = _directory_location(fp, size)
    if count > limits.max_members:
        raise EvalLogError(f"the .eval archive has more than {limits.max_members} members")
    found: dict[str, Member] = {}
    seen = 0
    position, end = offset, offset + directory_size
    fp.seek(position)
    while position < end:
        seen += 1
        # The directory may hold more entries than its end record says: count them as read.
        if seen > limits.max_members:
            raise EvalLogError(f"the .eval archive has more than {limits.max_members} members")
        header = fp.read(_CENTRAL.size)
        if len(header) != _CENTRAL.size or not header.startswith(_CENTRAL_SIG):
            raise EvalLogError(_CORRUPT)
        fields = _CENTRAL.unpack(header)
        flags, method, crc, compressed_size, member_size = fields[3], fields[4], fields[7], fields[8], fields[9]
        name_length, extra_length, comment_length, local_offset = fields[10], fields[11], fields[12], fields[16]
        variable = fp.read(name_length + extra_length + comment_length)
        if len(variable) != name_length + extra_length + comment_length:
            raise EvalLogError(_CORRUPT)
        position += _CENTRAL.size + len(variable)
        raw_name = variable[:name_length]
        name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", errors="replace")
        if name in wanted or (prefix is not None and name.startswith(prefix)):
            extra = variable[name_length : name_length + extra_length]
            member_size, compressed_size, local_offset = _zip64_sizes(extra, member_size, compressed_size, local_offset)
            found[name] = Member(name, method, flags, crc, compressed_size, member_size, local_offset)
    if position != end or seen != count:
        raise EvalLogError(_CORRUPT)
    return found


class _Window:
    """`length` bytes of `fp` from `start`, read in order; counts what was read."""

    def __init__(self, fp: BinaryIO, start: int, length: int) -> None:
        self._fp, self._position, self._left, self.consumed = fp, start, length, 0

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        if size == 0:
            return b""
        self._fp.seek(self._position)
        data = self._fp.read(size)
        if not data:
            raise EvalLogError(_CORRUPT)
        self._position += len(data)
        self._left -= len(data)
        self.consumed += len(data)
        return data


class MemberReader:
    """A member's decompressed bytes, `read(n)` at a time, within the limits; checks the CRC-32
    and the declared size when the data ends."""

    def __init__(self, fp: BinaryIO, size: int, member: Member, limits: EvalLogLimits) -> None:
        if member.flags & _FLAG_ENCRYPTED:
            raise EvalLogError("the .eval archive is encrypted")
        if member.method not in _METHODS:
            raise EvalLogError(f"{member.name} uses zip compression method {member.method}, which is not supported")
        if member.size > limits.max_member_bytes:
            raise EvalLogError(f"{member.name} is larger than the {limits.max_member_bytes} bytes allowed")
        local = _LOCAL.unpack(_read_exact(fp, member.offset, _LOCAL.size))
        if local[0] != _LOCAL_SIG:
            raise EvalLogError(_CORRUPT)
        start = member.offset + _LOCAL.size + local[9] + local[10]
        if start + member.compressed_size > size:
            raise EvalLogError(_CORRUPT)
        self._member, self._limits = member, limits
        self._window = _Window(fp, start, member.compressed_size)
        self._produced, self._crc, self._done = 0, 0, False
        self._inflate = zlib.decompressobj(-15) if member.method == DEFLATED else None
        self._zstd = (
            zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).stream_reader(
                self._window, read_size=ZSTD_READ_SIZE, read_across_frames=True, closefd=False
            )
            if member.method == ZSTD
            else None
        )

    def _next(self, size: int) -> bytes:
        if self._zstd is not None:
            return self._zstd.read(size)
        if self._inflate is None:
            return self._window.read(size)
        while True:
            data = self._inflate.unconsumed_tail or self._window.read(CHUNK)
            out = self._inflate.decompress(data, size)
            if out or self._inflate.eof or not data:
                return out

    def _consumed(self) -> int:
        """Compressed bytes used so far (read ahead, but not yet inflated, does not count)."""
        pending = len(self._inflate.unconsumed_tail) if self._inflate is not None else 0
        return self._window.consumed - pending

    def read(self, size: int = CHUNK) -> bytes:
        if self._done:
            return b""
        try:
            piece = self._next(max(1, min(size, CHUNK)))
        except (zstandard.ZstdError, zlib.error):
            raise EvalLogError(f"{self._member.name} holds corrupt or unsupported compressed data") from None
        if not piece:
            self._done = True
            if self._produced != self._member.size or self._crc != self._member.crc:
                raise EvalLogError(f"{self._member.name} is corrupt or truncated (size or checksum mismatch)")
            return b""
        self._produced += len(piece)
        self._crc = zlib.crc32(piece, self._crc)
        if self._produced > self._limits.max_member_bytes:
            raise EvalLogError(f"{self._member.name} is larger than the {self._limits.max_member_bytes} bytes allowed")
        if self._produced > RATIO_FLOOR and self._produced > self._limits.max_ratio * max(1, self._consumed()):
            raise EvalLogError(
                f"{self._member.name} expands more than {self._limits.max_ratio} times when decompressed (a zip bomb?)"
            )
        return piece
