"""Build zip archives byte by byte, so that tests can make them lie (sizes, counts, methods)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import zstandard

STORED, DEFLATED, ZSTD = 0, 8, 93


@dataclass
class Entry:
    name: str
    data: bytes = b""
    method: int = ZSTD
    # Overrides, to lie about the entry.
    compressed: bytes | None = None
    declared_size: int | None = None
    crc: int | None = None
    flags: int = 0


def compress(data: bytes, method: int) -> bytes:
    if method == ZSTD:
        return zstandard.ZstdCompressor().compress(data)
    if method == DEFLATED:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()
    return data


def zstd_stream(chunks: Iterable[bytes], **params: int) -> bytes:
    """zstd of the concatenated chunks, compressed as a stream (the whole never in memory)."""
    compressor = zstandard.ZstdCompressor(
        compression_params=zstandard.ZstdCompressionParameters.from_level(3, **params) if params else None
    )
    out = io.BytesIO()
    packer = compressor.compressobj()
    for chunk in chunks:
        out.write(packer.compress(chunk))
    out.write(packer.flush())
    return out.getvalue()


def build_zip(entries: list[Entry], *, declared_count: int | None = None) -> bytes:
    out = io.BytesIO()
    directory = io.BytesIO()
    for entry in entries:
        body = entry.compressed if entry.compressed is not None else compress(entry.data, entry.method)
        size = entry.declared_size if entry.declared_size is not None else len(entry.data)
        crc = entry.crc if entry.crc is not None else zlib.crc32(entry.data)
        name = entry.name.encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", 63, entry.flags, entry.method, 0, 0x21, crc, len(body), size, len(name), 0
            )
        )
        out.write(name)
        out.write(body)
        directory.write(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                63,
                63,
                entry.flags,
                entry.method,
                0,
                0x21,
                crc,
                len(body),
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        directory.write(name)
    start = out.tell()
    out.write(directory.getvalue())
    count = declared_count if declared_count is not None else len(entries)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory.getvalue()), start, 0))
    return out.getvalue()
