"""The streaming format: round trips at the segment edges and every way to tamper with a blob."""

from __future__ import annotations

import io
import os
import struct
import uuid

import pytest

from vault import crypto
from vault.crypto import TAG_SIZE, TamperedCiphertext

SEG = crypto.MIN_SEGMENT
CODE = uuid.uuid4()


def seal(data: bytes, *, code=CODE, dek=None, segment=SEG):
    dek = dek or os.urandom(32)
    header = crypto.build_header(org_id=7, kek_version=1, segment_size=segment, wrapped_dek=os.urandom(60))
    return dek, header, crypto.encrypt_bytes(data, dek=dek, header=header, attachment_code=code)


def unseal(blob: bytes, dek: bytes, code=CODE) -> bytes:
    return b"".join(crypto.decrypt_segments(io.BytesIO(blob), dek=dek, attachment_code=code))


def segments_of(blob: bytes, header: crypto.Header) -> list[bytes]:
    body, full = blob[header.size :], header.segment_size + TAG_SIZE
    return [body[i : i + full] for i in range(0, len(body), full)]


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 5 * 1024 * 1024 + 7])
def test_round_trip_at_segment_edges(size):
    data = os.urandom(size)
    dek, header, blob = seal(data)
    assert unseal(blob, dek) == data
    assert len(blob) == crypto.ciphertext_size(size, SEG, header.size)
    assert data[:64] not in blob[header.size :] or size < 16


def test_round_trip_with_ragged_chunks_and_default_segment():
    data = os.urandom(3 * 1024 * 1024 + 5)
    dek, header = (
        os.urandom(32),
        crypto.build_header(org_id=1, kek_version=2, segment_size=1024 * 1024, wrapped_dek=b"w"),
    )
    enc = crypto.Encryptor(dek=dek, header=header, attachment_code=CODE)
    out, pos = [enc.start()], 0
    for step in (1, 17, 65536, 999_999, 3, 2 * 1024 * 1024):
        out.append(enc.update(data[pos : pos + step]))
        pos += step
    out.append(enc.update(data[pos:]) + enc.finish())
    assert unseal(b"".join(out), dek) == data


def test_header_records_key_ids_and_parameters():
    _, header, blob = seal(b"x")
    parsed = crypto.read_header(io.BytesIO(blob))
    assert (parsed.org_id, parsed.kek_version, parsed.segment_size) == (7, 1, SEG)
    assert parsed.salt == header.salt and parsed.nonce_prefix == header.nonce_prefix
    assert parsed.wrapped_dek == header.wrapped_dek and blob.startswith(crypto.MAGIC)


def test_segment_size_outside_bounds_is_refused():
    with pytest.raises(ValueError):
        crypto.build_header(org_id=1, kek_version=1, segment_size=1024, wrapped_dek=b"")


@pytest.fixture
def three_segments():
    data = os.urandom(2 * SEG + 100)
    dek, header, blob = seal(data)
    return data, dek, header, blob


def flip(blob: bytes, index: int) -> bytes:
    out = bytearray(blob)
    out[index] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize(
    "where",
    ["magic", "version", "org id", "kek version", "segment size", "salt", "prefix", "wrapped dek"],
)
def test_bit_flip_in_header_is_refused(three_segments, where):
    _, dek, header, blob = three_segments
    offsets = {
        "magic": 0,
        "version": 6,
        "org id": 14,
        "kek version": 18,
        "segment size": 20,
        "salt": 30,
        "prefix": 60,
        "wrapped dek": header.size - 1,
    }
    with pytest.raises(TamperedCiphertext):
        unseal(flip(blob, offsets[where]), dek)


@pytest.mark.parametrize("segment", [0, 1, 2])
@pytest.mark.parametrize("part", ["body", "tag"])
def test_bit_flip_in_segment_body_or_tag_is_refused(three_segments, segment, part):
    _, dek, header, blob = three_segments
    segs = segments_of(blob, header)
    start = header.size + sum(len(s) for s in segs[:segment])
    index = start + (5 if part == "body" else len(segs[segment]) - 3)
    with pytest.raises(TamperedCiphertext, match=f"segment {segment}"):
        unseal(flip(blob, index), dek)


def test_truncation_at_a_segment_boundary_is_refused(three_segments):
    _, dek, header, blob = three_segments
    segs = segments_of(blob, header)
    with pytest.raises(TamperedCiphertext, match="segment 1"):
        unseal(blob[: header.size] + b"".join(segs[:2]), dek)


@pytest.mark.parametrize("cut", [1, TAG_SIZE, 1000])
def test_truncation_inside_a_segment_is_refused(three_segments, cut):
    _, dek, _, blob = three_segments
    with pytest.raises(TamperedCiphertext):
        unseal(blob[:-cut], dek)


def test_header_only_blob_is_refused(three_segments):
    _, dek, header, blob = three_segments
    with pytest.raises(TamperedCiphertext):
        unseal(blob[: header.size], dek)


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(SEG + TAG_SIZE)])
def test_extension_is_refused(three_segments, extra):
    _, dek, _, blob = three_segments
    with pytest.raises(TamperedCiphertext):
        unseal(blob + extra, dek)


def test_appending_a_copy_of_a_full_segment_is_refused():
    data = os.urandom(2 * SEG)  # two full segments; the second is the last
    dek, header, blob = seal(data)
    segs = segments_of(blob, header)
    with pytest.raises(TamperedCiphertext):
        unseal(blob[: header.size] + segs[0] + segs[0] + segs[1], dek)


def test_reordered_segments_are_refused(three_segments):
    _, dek, header, blob = three_segments
    s = segments_of(blob, header)
    with pytest.raises(TamperedCiphertext, match="segment 0"):
        unseal(blob[: header.size] + s[1] + s[0] + s[2], dek)


def test_blob_bound_to_its_attachment_code(three_segments):
    _, dek, _, blob = three_segments
    with pytest.raises(TamperedCiphertext, match="segment 0"):
        unseal(blob, dek, code=uuid.uuid4())


def test_wrong_key_is_refused(three_segments):
    _, _, _, blob = three_segments
    with pytest.raises(TamperedCiphertext):
        unseal(blob, os.urandom(32))


def test_header_of_another_blob_with_same_key_is_refused():
    dek = os.urandom(32)
    _, _, blob_a = seal(b"a" * 100, dek=dek)
    _, header_b, blob_b = seal(b"b" * 100, dek=dek)
    header_a = crypto.read_header(io.BytesIO(blob_a))
    with pytest.raises(TamperedCiphertext):
        unseal(header_a.raw + blob_b[header_b.size :], dek)


def test_nonce_layout_is_prefix_counter_last_flag(three_segments):
    _, dek, header, blob = three_segments
    cipher = crypto._SegmentCipher(dek, header, CODE)
    assert cipher._nonce(2, True) == header.nonce_prefix + struct.pack(">IB", 2, 1)
    assert len(cipher._nonce(0, False)) == 12


class TestPlaintextReader:
    def reader(self, blob, dek, size, code=CODE):
        return crypto.PlaintextReader(io.BytesIO(blob), dek=dek, attachment_code=code, plaintext_size=size)

    def test_reads_and_seeks(self, three_segments):
        data, dek, _, blob = three_segments
        stream = io.BufferedReader(self.reader(blob, dek, len(data)))
        assert stream.read() == data
        stream.seek(-150, io.SEEK_END)
        assert stream.read(100) == data[-150:-50]
        stream.seek(SEG - 3)
        assert stream.read(6) == data[SEG - 3 : SEG + 3]

    def test_recorded_size_mismatch_is_refused_at_open(self, three_segments):
        data, dek, _, blob = three_segments
        with pytest.raises(TamperedCiphertext, match="length"):
            self.reader(blob, dek, len(data) - 1)

    def test_empty_file_is_authenticated(self):
        dek, _, blob = seal(b"")
        assert self.reader(blob, dek, 0).read() == b""
        with pytest.raises(TamperedCiphertext):
            self.reader(blob, dek, 0, code=uuid.uuid4())

    def test_truncated_last_segment_detected_on_seek(self):
        data = os.urandom(2 * SEG)
        dek, header, blob = seal(data)
        segs = segments_of(blob, header)
        # Drop the last segment and claim the file is one segment long: the remaining segment
        # was sealed "not last", so reading it as the last fails.
        reader = self.reader(blob[: header.size] + segs[0], dek, SEG)
        with pytest.raises(TamperedCiphertext):
            reader.read(10)
