"""The streaming scanner of the top-level JSON object agrees with json.loads."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.errors import EvalLogError
from evals.jsonscan import ObjectScanner

WANTED = frozenset({"eval", "results", "stats"})
KEYS = st.sampled_from(["eval", "results", "stats", "samples", "plan", 'odd "key"', "ключ", "\\"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=25,
)


class Trickle:
    """Reads `step` bytes at a time, to put chunk boundaries everywhere (escapes included)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._position = data, step, 0

    def read(self, size: int) -> bytes:
        piece = self._data[self._position : self._position + min(size, self._step)]
        self._position += len(piece)
        return piece


def scan(data: bytes, *, step: int = 1 << 16, max_depth: int = 64, wanted=WANTED):
    scanner = ObjectScanner(Trickle(data, step).read, max_bytes=1 << 30, max_keep=1 << 30, max_depth=max_depth)
    return scanner.members(wanted)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(KEYS, VALUES, max_size=6),
    indent=st.sampled_from([None, 0, 2]),
    ensure_ascii=st.booleans(),
    step=st.integers(1, 9),
)
def test_scanner_keeps_exactly_what_json_loads_sees(document, indent, ensure_ascii, step):
    data = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii).encode()
    expected = {key: value for key, value in json.loads(data).items() if key in WANTED}
    assert scan(data, step=step) == expected


def test_the_last_of_duplicate_members_wins_as_in_json_loads():
    data = b'{"eval": 1, "eval": {"a": [1, "]}"]}}'
    assert scan(data) == json.loads(data)


def test_depth_is_bounded_for_kept_values_only():
    assert scan(b'{"eval": [[[1]]]}', max_depth=3) == {"eval": [[[1]]]}
    with pytest.raises(EvalLogError, match="nested more than 3 levels"):
        scan(b'{"eval": [[[[1]]]]}', max_depth=3)
    assert scan(b'{"samples": [[[[[[1]]]]]]}', max_depth=3) == {}


def test_brackets_inside_strings_do_not_count():
    data = b'{"samples": "[[[[{{{{\\"", "eval": "}]"}'
    assert scan(data, step=1) == {"eval": "}]"}


def test_the_keep_budget_covers_all_kept_members_together():
    scanner = ObjectScanner(
        io.BytesIO(b'{"eval": "12345", "stats": "67890"}').read, max_bytes=100, max_keep=10, max_depth=8
    )
    with pytest.raises(EvalLogError, match="header is larger than the 10 bytes"):
        scanner.members(WANTED)
