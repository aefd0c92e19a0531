"""The streaming encryption format of attachments (a STREAM construction, as in Tink and age).

A blob is a header followed by segments::

    header  = MAGIC (6) ‖ version (1) ‖ org id (8) ‖ KEK version (4) ‖ segment size (4)
              ‖ salt (32) ‖ nonce prefix (7) ‖ wrapped-DEK length (2) ‖ wrapped DEK
    segment = AES-256-GCM(segment key, nonce, plaintext[i], ad) = ciphertext ‖ tag (16)

- The segment key is HKDF-SHA256(DEK, salt, info), so a DEK is never used directly and each
  file has its own key even if a DEK were ever reused.
- nonce = prefix (7) ‖ counter (4, big-endian) ‖ last flag (1): a reordered segment fails its
  tag (wrong counter); a truncated file ends on a segment sealed as "not last"; an extended
  one has data after the segment sealed as "last".
- ad = attachment code (16) ‖ SHA-256(header): every header byte is authenticated, and a blob
  copied under another attachment record fails on its first segment.
- Every segment but the last holds exactly `segment_size` plaintext bytes; the last holds
  0..segment_size (an empty file is one empty, last segment). The encryptor therefore keeps one
  segment back until it knows whether more data follows.

The wrapped DEK in the header makes a blob self-describing for disaster recovery; the record's
copy (Attachment.wrapped_dek) is the one used and the one KEK rotation re-wraps. Destroying an
attachment deletes both (the record's copy and the blob); a backup of the blob taken earlier
still holds the header copy under the KEK version current at upload, so shredding against such
backups also needs that retired KEK version deleted once rotation has moved every DEK off it.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"ACCATT"
FORMAT_VERSION = 1
TAG_SIZE = 16
SALT_SIZE = 32
PREFIX_SIZE = 7
DEK_SIZE = 32
MIN_SEGMENT = 64 * 1024
MAX_SEGMENT = 1024 * 1024
MAX_SEGMENTS = 2**32 - 1
_FIXED = struct.Struct(">6sBQII32s7sH")
HKDF_INFO = b"accord attachment segment key v1"


class TamperedCiphertext(Exception):
    """The blob is not what was sealed for this attachment: tampered, truncated, swapped."""


@dataclass(frozen=True)
class Header:
    org_id: int
    kek_version: int
    segment_size: int
    salt: bytes
    nonce_prefix: bytes
    wrapped_dek: bytes
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)


def build_header(*, org_id: int, kek_version: int, segment_size: int, wrapped_dek: bytes) -> Header:
    if not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
        raise ValueError(f"segment size must be within {MIN_SEGMENT}..{MAX_SEGMENT} bytes")
    salt, prefix = os.urandom(SALT_SIZE), os.urandom(PREFIX_SIZE)
    fixed = _FIXED.pack(MAGIC, FORMAT_VERSION, org_id, kek_version, segment_size, salt, prefix, len(wrapped_dek))
    return Header(org_id, kek_version, segment_size, salt, prefix, wrapped_dek, fixed + wrapped_dek)


def read_header(stream: BinaryIO) -> Header:
    fixed = _read_exactly(stream, _FIXED.size)
    if len(fixed) != _FIXED.size:
        raise TamperedCiphertext("attachment blob is shorter than its header")
    magic, version, org_id, kek_version, segment_size, salt, prefix, dek_len = _FIXED.unpack(fixed)
    if magic != MAGIC:
        raise TamperedCiphertext("attachment blob has the wrong magic number")
    if version != FORMAT_VERSION:
        raise TamperedCiphertext(f"attachment blob has unknown format version {version}")
    if not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
        raise TamperedCiphertext("attachment blob header has an invalid segment size")
    wrapped_dek = _read_exactly(stream, dek_len)
    if len(wrapped_dek) != dek_len:
        raise TamperedCiphertext("attachment blob header is truncated")
    return Header(org_id, kek_version, segment_size, salt, prefix, wrapped_dek, fixed + wrapped_dek)


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts, remaining = [], n
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


class _SegmentCipher:
    """AES-GCM under the per-file segment key, with the STREAM nonce and the record binding."""

    def __init__(self, dek: bytes, header: Header, attachment_code: uuid.UUID | str) -> None:
        if len(dek) != DEK_SIZE:
            raise ValueError("a data key is 32 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=HKDF_INFO).derive(dek)
        self._aead = AESGCM(key)
        self._prefix = header.nonce_prefix
        code = attachment_code if isinstance(attachment_code, uuid.UUID) else uuid.UUID(str(attachment_code))
        self._ad = code.bytes + hashlib.sha256(header.raw).digest()
        self.header = header

    def _nonce(self, counter: int, last: bool) -> bytes:
        if counter > MAX_SEGMENTS:
            raise ValueError("too many segments for one attachment")
        return self._prefix + struct.pack(">IB", counter, 1 if last else 0)

    def seal(self, counter: int, plaintext: bytes, *, last: bool) -> bytes:
        return self._aead.encrypt(self._nonce(counter, last), plaintext, self._ad)

    def open(self, counter: int, ciphertext: bytes, *, last: bool) -> bytes:
        if len(ciphertext) < TAG_SIZE:
            raise TamperedCiphertext(f"segment {counter} is truncated")
        try:
            return self._aead.decrypt(self._nonce(counter, last), ciphertext, self._ad)
        except InvalidTag:
            raise TamperedCiphertext(f"segment {counter} failed authentication") from None


class Encryptor:
    """Push plaintext in any chunk sizes; get ciphertext bytes to append to the blob."""

    def __init__(self, *, dek: bytes, header: Header, attachment_code: uuid.UUID | str) -> None:
        self._cipher = _SegmentCipher(dek, header, attachment_code)
        self._segment = header.segment_size
        self._buffer = bytearray()
        self._counter = 0
        self._finished = False

    def start(self) -> bytes:
        return self._cipher.header.raw

    def update(self, data: bytes) -> bytes:
        """Seal every full segment that is certainly not the last one.

        A full segment is sealed only once a byte beyond it has arrived: a full segment followed
        by nothing must be sealed as the last. Works on memoryviews so that large pushes are
        not copied or shifted more than once.
        """
        if self._finished:
            raise ValueError("encryptor already finished")
        view, out, size = memoryview(data), [], self._segment
        if self._buffer:
            take = min(size - len(self._buffer), len(view))
            self._buffer += view[:take]
            view = view[take:]
            if not view:
                return b""
            out.append(self._seal(self._buffer))
            self._buffer = bytearray()
        while len(view) > size:
            out.append(self._seal(view[:size]))
            view = view[size:]
        self._buffer += view
        return b"".join(out)

    def _seal(self, chunk) -> bytes:
        sealed = self._cipher.seal(self._counter, chunk, last=False)
        self._counter += 1
        return sealed

    def finish(self) -> bytes:
        if self._finished:
            raise ValueError("encryptor already finished")
        self._finished = True
        sealed = self._cipher.seal(self._counter, bytes(self._buffer), last=True)
        self._buffer = bytearray()
        return sealed


def ciphertext_size(plaintext_size: int, segment_size: int, header_size: int) -> int:
    """The exact blob length for a plaintext of this size (used to refuse truncated blobs early)."""
    segments = max(1, -(-plaintext_size // segment_size))
    return header_size + plaintext_size + segments * TAG_SIZE


def segment_count(blob_body_size: int, segment_size: int) -> int:
    """How many segments a blob body (after the header) of this length holds."""
    full = segment_size + TAG_SIZE
    return max(1, -(-blob_body_size // full))


def decrypt_segments(
    stream: BinaryIO, *, dek: bytes, attachment_code: uuid.UUID | str, header: Header | None = None
) -> Iterator[bytes]:
    """Yield plaintext segment by segment; raise TamperedCiphertext at the first bad one.

    Reads one segment ahead so the last segment is opened with the last flag, which is what
    detects truncation at a segment boundary and trailing data.
    """
    header = header or read_header(stream)
    cipher = _SegmentCipher(dek, header, attachment_code)
    full = header.segment_size + TAG_SIZE
    counter = 0
    current = _read_exactly(stream, full)
    while True:
        following = _read_exactly(stream, full) if len(current) == full else b""
        last = not following
        yield cipher.open(counter, current, last=last)
        if last:
            return
        counter += 1
        current = following


def encrypt_bytes(data: bytes, *, dek: bytes, header: Header, attachment_code: uuid.UUID | str) -> bytes:
    """Whole-buffer helper (tests, small files): header ‖ segments."""
    enc = Encryptor(dek=dek, header=header, attachment_code=attachment_code)
    return enc.start() + enc.update(data) + enc.finish()


class PlaintextReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext, decrypting one segment at a time.

    Zip readers (Inspect `.eval` logs) seek to the central directory at the end; random access
    is safe because each segment carries its own counter and last flag, and the blob length is
    checked against the plaintext size recorded in the database before anything is read.
    """

    def __init__(self, raw: BinaryIO, *, dek: bytes, attachment_code: uuid.UUID | str, plaintext_size: int) -> None:
        super().__init__()
        self._raw = raw
        self._header = read_header(raw)
        self._cipher = _SegmentCipher(dek, self._header, attachment_code)
        self._size = plaintext_size
        self._segment = self._header.segment_size
        self._count = max(1, -(-plaintext_size // self._segment))
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None
        raw.seek(0, io.SEEK_END)
        expected = ciphertext_size(plaintext_size, self._segment, self._header.size)
        if raw.tell() != expected:
            raise TamperedCiphertext("attachment blob length does not match its recorded size")
        if plaintext_size == 0:
            self._load(0)  # an empty file is still one sealed segment: authenticate it

    @property
    def header(self) -> Header:
        return self._header

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _load(self, index: int) -> bytes:
        if self._cached and self._cached[0] == index:
            return self._cached[1]
        self._raw.seek(self._header.size + index * (self._segment + TAG_SIZE))
        data = self._cipher.open(
            index, _read_exactly(self._raw, self._segment + TAG_SIZE), last=index == self._count - 1
        )
        self._cached = (index, data)
        return data

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, self._segment)
        chunk = self._load(index)[offset : offset + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()
