"""Hostile logs: each is refused with EvalLogError and a clear reason, in bounded memory.

Memory is measured with tracemalloc (Python allocations). zstd's own buffers are outside it;
they are bounded by the decoder's window limit, which a test below exercises.
"""

from __future__ import annotations

import io
import json
import os
import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evals.parser import EvalLogError, EvalLogLimits, parse_eval_log
from tests.evals.zips import DEFLATED, Entry, build_zip, zstd_stream

FIXTURES = Path(__file__).parent / "fixtures"
MIB = 1024 * 1024
DEFAULTS = EvalLogLimits()
SMALL = EvalLogLimits(
    max_log_bytes=2 * MIB, max_members=50, max_member_bytes=256 * 1024, max_ratio=500, max_json_depth=64
)


def refused(data, *, filename: str | None, limits: EvalLogLimits = DEFAULTS, peak: int = 4 * MIB) -> str:
    """Parse, expect EvalLogError, check the peak of Python memory; return the reason."""
    stream = data if hasattr(data, "read") else io.BytesIO(data)
    tracemalloc.start()
    try:
        with pytest.raises(EvalLogError) as caught:
            parse_eval_log(stream, filename=filename, limits=limits)
        _, highest = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert highest < peak, f"peak {highest} bytes"
    return caught.value.reason


def header_bytes(run: str = "success") -> bytes:
    log = json.loads((FIXTURES / f"{run}.json").read_bytes())
    return json.dumps({k: v for k, v in log.items() if k not in {"samples", "reductions"}}).encode()


def zeros(total: int, chunk: int = MIB):
    for _ in range(total // chunk):
        yield bytes(chunk)


class Endless:
    """A stream that never ends (and cannot seek)."""

    def __init__(self, filler: bytes = b"\0", start: bytes = b"") -> None:
        self._start, self._filler = start, filler

    def read(self, size: int = -1) -> bytes:
        if self._start:
            head, self._start = self._start, b""
            return head
        return self._filler * max(1, min(size, 1 << 16))

    def seekable(self) -> bool:
        return False


# -- zip bombs ---------------------------------------------------------------------------------


def test_zip_bomb_declaring_its_real_size_is_refused_before_decompressing():
    # 1 GiB of zeros compresses to a few tens of KiB.
    bomb = zstd_stream(zeros(1024 * MIB))
    data = build_zip([Entry("header.json", compressed=bomb, declared_size=1024 * MIB, crc=0)])
    assert len(data) < 100 * 1024
    assert refused(data, filename="bomb.eval") == f"header.json is larger than the {16 * MIB} bytes allowed"


def test_zip_bomb_lying_about_its_size_stops_at_the_ratio_limit():
    # A header that starts like JSON, then 1 GiB of zeros inside a string; it claims 2 KiB.
    bomb = zstd_stream([b'{"samples": "', *zeros(1024 * MIB)])
    data = build_zip([Entry("header.json", compressed=bomb, declared_size=2048, crc=0)])
    reason = refused(data, filename="bomb.eval")
    assert reason == "header.json expands more than 500 times when decompressed (a zip bomb?)"


def test_deflate_bomb_lying_about_its_size_stops_too():
    body = b'{"samples": "' + bytes(64 * MIB)
    data = build_zip([Entry("header.json", body, method=DEFLATED, declared_size=2048, crc=0)])
    assert "expands more than 500 times" in refused(data, filename="bomb.eval", peak=8 * MIB)


def test_zstd_frame_asking_for_a_huge_window_is_refused():
    # window_log 27 asks the decoder for 128 MiB, outside Python's heap.
    frame = zstd_stream([header_bytes()], window_log=27)
    data = build_zip([Entry("header.json", compressed=frame, declared_size=len(header_bytes()))])
    assert refused(data, filename="w.eval") == "header.json holds corrupt or unsupported compressed data"


def test_huge_member_of_incompressible_data_stops_at_the_member_limit():
    body = b'{"samples": "' + os.urandom(512 * 1024).hex().encode()
    data = build_zip([Entry("header.json", body, declared_size=100)])
    assert refused(data, filename="big.eval", limits=SMALL) == "header.json is larger than the 262144 bytes allowed"


# -- archive structure -------------------------------------------------------------------------


def test_too_many_members_is_refused_from_the_end_record():
    data = build_zip(
        [Entry(f"samples/{n}.json", b"{}") for n in range(DEFAULTS.max_members + 1)]
        + [Entry("header.json", header_bytes())]
    )
    assert refused(data, filename="many.eval", peak=8 * MIB) == "the .eval archive has more than 20000 members"


def test_too_many_members_is_counted_even_when_the_end_record_lies():
    entries = [Entry(f"samples/{n}.json", b"{}") for n in range(60)] + [Entry("header.json", header_bytes())]
    data = build_zip(entries, declared_count=3)
    assert refused(data, filename="many.eval", limits=SMALL) == "the .eval archive has more than 50 members"


@pytest.mark.parametrize("run", ["success", "epochs"])
def test_every_truncation_of_an_eval_log_is_refused(run):
    data = (FIXTURES / f"{run}.eval").read_bytes()
    reasons = set()
    for cut in range(0, len(data), 7):
        with pytest.raises(EvalLogError) as caught:
            parse_eval_log(io.BytesIO(data[:cut]), filename="cut.eval")
        reasons.add(caught.value.reason)
    assert "not an .eval log: not a zip archive, or a truncated one (no end-of-archive record)" in reasons
    assert reasons <= {
        "the log is empty",
        "not an .eval log: not a zip archive, or a truncated one (no end-of-archive record)",
        "the .eval archive is corrupt or truncated",
    }


def test_bytes_missing_from_the_middle_of_an_archive_are_detected():
    data = (FIXTURES / "success.eval").read_bytes()
    assert refused(data[:1000] + data[1500:], filename="holed.eval") == "the .eval archive is corrupt or truncated"


def test_a_changed_byte_in_the_header_is_caught_by_the_checksum():
    data = bytearray(build_zip([Entry("header.json", header_bytes(), method=0)]))
    data[data.index(b'"arithmetic_success"') + 1] ^= 0x20  # "Arithmetic_success"
    reason = refused(bytes(data), filename="flipped.eval")
    assert reason == "header.json is corrupt or truncated (size or checksum mismatch)"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_damage_to_an_eval_log_never_raises_anything_but_eval_log_error(data):
    blob = bytearray((FIXTURES / "success.eval").read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_eval_log(io.BytesIO(bytes(blob)), filename="damaged.eval")
    except EvalLogError:
        pass


def test_an_archive_without_a_header_is_not_a_log():
    data = build_zip([Entry("samples/1_epoch_1.json", b"{}")])
    assert refused(data, filename="x.eval") == "not an Inspect log: the archive has no header.json"


def test_unsupported_compression_and_encryption_are_refused():
    bzip = build_zip([Entry("header.json", compressed=b"BZh9...", method=12, declared_size=10)])
    assert refused(bzip, filename="x.eval") == "header.json uses zip compression method 12, which is not supported"
    locked = build_zip([Entry("header.json", header_bytes(), flags=0x1)])
    assert refused(locked, filename="x.eval") == "the .eval archive is encrypted"


def test_a_log_larger_than_the_limit_is_refused_while_buffering():
    assert refused(Endless(), filename="endless.eval", limits=SMALL, peak=12 * MIB) == (
        "the log is larger than the 2097152 bytes allowed"
    )


def test_a_seekable_log_larger_than_the_limit_is_refused_before_reading():
    data = (FIXTURES / "success.eval").read_bytes()
    limits = EvalLogLimits(max_log_bytes=len(data) - 1)
    assert (
        refused(data, filename="x.eval", limits=limits) == f"the log is larger than the {len(data) - 1} bytes allowed"
    )


# -- JSON ------------------------------------------------------------------------------------------


def test_deeply_nested_json_at_the_top_is_not_a_log():
    nested = b"[" * 100_000 + b"]" * 100_000
    assert refused(nested, filename="deep.json") == "not an Inspect log: the document is not a JSON object"


@pytest.mark.parametrize("fmt", ["json", "eval"])
def test_deeply_nested_json_inside_the_header_is_refused_before_json_loads(fmt):
    nested = b'{"eval": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    data = nested if fmt == "json" else build_zip([Entry("header.json", nested)])
    assert refused(data, filename=f"deep.{fmt}") == "the log's JSON is nested more than 64 levels deep"


def test_deeply_nested_samples_are_skipped_without_recursion():
    header = header_bytes()
    log = header[:-1] + b', "samples": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert parse_eval_log(io.BytesIO(log), filename="deep.json").task == "arithmetic_success"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b'{"hello": "world"}', "not an Inspect log: it has no eval section"),
        (b'{"eval": {"task": "t", "model": "m"}}', "not an Inspect log: its status is missing or unknown"),
        (b'{"status": "success", "eval": {"model": "m"}}', "not an Inspect log: eval.task is missing"),
        (b'{"status": "success", "eval": {"task": 5, "model": "m"}}', "not an Inspect log: eval.task is not a string"),
        (
            b'{"status": "success", "eval": {"task": "t", "model": "m", "created": "yesterday"}}',
            "not an Inspect log: eval.created is not an ISO 8601 time",
        ),
        (
            b'{"status": "success", "eval": {"task": "t", "model": "m"}, "results": {"total_samples": -1}}',
            "not an Inspect log: results.total_samples is not a non-negative 64-bit integer",
        ),
        (
            b'{"status": "success", "eval": {"task": "t", "model": "m"}, "results": {"scores": {}}}',
            "not an Inspect log: results.scores is not a list",
        ),
        (b'{"status": "success", "eval": {"task": "t\\u0000", "model": "m"}}', "eval.task contains a NUL character"),
        (b'{"status": "success", "eval": {"task": "t\\ud800", "model": "m"}}', "eval.task is not valid Unicode text"),
        (b'{"status": "success", "eval": {"task": "t", "model": "m"}', "the log is truncated (the JSON ends early)"),
        (
            b'{"status": "success", "eval": {"task": "t", "model": "m"}} trailing',
            "the log is not valid JSON (data after the end of the document)",
        ),
        (b'{"status": "success", "eval": {"task": "t", "model": "m",}}', "the log is not valid JSON"),
        (
            b'{"eval": {"task": "' + b"x" * 300 + b'", "model": "m"}, "status": "success"}',
            "eval.task is longer than 255 characters",
        ),
        (b"[1, 2, 3]", "not an Inspect log: the document is not a JSON object"),
        (b"", "the log is empty"),
    ],
)
def test_json_that_is_not_an_inspect_log_is_refused(document, reason):
    assert refused(document, filename="x.json") == reason


def test_a_duplicate_score_is_refused():
    score = {"name": "match", "scorer": "match", "metrics": {"accuracy": {"name": "accuracy", "value": 1}}}
    log = {"status": "success", "eval": {"task": "t", "model": "m"}, "results": {"scores": [score, score]}}
    assert refused(json.dumps(log).encode(), filename="x.json") == "the log reports the same score metric twice"


def test_a_huge_header_in_a_json_log_stops_at_the_member_limit():
    log = b'{"status": "success", "eval": {"task": "t", "model": "m", "padding": "' + b"x" * MIB + b'"}}'
    assert refused(log, filename="x.json", limits=SMALL) == "the log's header is larger than the 262144 bytes allowed"


def test_an_endless_json_log_stops_at_the_size_limit():
    stream = Endless(filler=b" ", start=b'{"samples": [')
    assert refused(stream, filename="x.json", limits=SMALL) == "the log is larger than the 2097152 bytes allowed"


@pytest.mark.parametrize("run", ["success", "error"])
def test_every_truncation_of_a_json_log_is_refused(run):
    data = (FIXTURES / f"{run}.json").read_bytes().rstrip()
    for cut in range(0, len(data), 97):
        with pytest.raises(EvalLogError):
            parse_eval_log(io.BytesIO(data[:cut]), filename="cut.json")


# -- anything ------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["x.eval", "x.json", None])
def test_random_bytes_are_refused(filename):
    rng = random.Random(7)
    for _ in range(20):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096)))
        reason = refused(blob, filename=filename)
        assert reason


def test_errors_of_the_stream_itself_are_not_blamed_on_the_log():
    class Broken:
        def read(self, size=-1):
            raise OSError("storage went away")

    with pytest.raises(OSError, match="storage went away"):
        parse_eval_log(Broken(), filename="x.json")
