"""Read chosen members of one large JSON object from a stream, in bounded memory.

An Inspect `.json` log is one object whose `samples` member can be hundreds of megabytes, while
everything worth keeping (`eval`, `results`, `stats`, `error`...) is small. This scanner walks
the top-level object once: the wanted members' raw bytes are kept (up to a budget) and decoded
with `json.loads`; every other member is skipped without building anything. The bytes kept are
never nested deeper than `max_depth`, so `json.loads` — which recurses once per level — cannot
exhaust the stack on `[[[[...]]]]`.

Skipped members are only checked for balanced brackets and terminated strings, not for full
JSON validity: their content is never used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import EvalLogError

CHUNK = 64 * 1024
MAX_KEY_BYTES = 1024

_STRUCTURE = re.compile(rb'[\[\]{}"]')
_STRING_STOP = re.compile(rb'["\\]')
_WHITESPACE = b" \t\r\n"
_SCALAR_END = re.compile(rb"[,}\]\s]")
_TRUNCATED = "the log is truncated (the JSON ends early)"


class _Budget:
    """A bytearray that refuses to grow past `limit`."""

    def __init__(self, limit: int, reason: str) -> None:
        self.data = bytearray()
        self.limit = limit
        self.reason = reason

    def add(self, piece: bytes) -> None:
        self.data += piece
        if len(self.data) > self.limit:
            raise EvalLogError(self.reason)


class ObjectScanner:
    """One pass over a JSON object read with `read(n)`; see the module docstring."""

    def __init__(self, read: Callable[[int], bytes], *, max_bytes: int, max_keep: int, max_depth: int) -> None:
        self._read = read
        self._max_bytes = max_bytes
        self._max_depth = max_depth
        self._keep_left = max_keep
        self._max_keep = max_keep
        self._buf = b""
        self._pos = 0
        self._total = 0
        self._eof = False

    # -- input -------------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Append the next chunk to the unread part of the buffer; False at the end of input."""
        if self._eof:
            return False
        chunk = self._read(CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._total += len(chunk)
        if self._total > self._max_bytes:
            raise EvalLogError(f"the log is larger than the {self._max_bytes} bytes allowed")
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def _next_significant(self) -> int | None:
        """The next byte that is not whitespace, consumed; None at the end of input."""
        while True:
            while self._pos < len(self._buf):
                byte = self._buf[self._pos]
                self._pos += 1
                if byte not in _WHITESPACE:
                    return byte
            if not self._fill():
                return None

    # -- values ------------------------------------------------------------------------------

    def _read_on(self, keep: _Budget | None, end: int) -> None:
        """The buffer ran out inside a value: consume it up to `end` (kept when kept), then read
        the next chunk; a log that ends here is truncated."""
        if keep is not None:
            keep.add(self._buf[self._pos : end])
        self._pos = end
        if not self._fill():
            raise EvalLogError(_TRUNCATED)

    def _string_rest(self, keep: _Budget | None) -> None:
        """Consume a string whose opening quote is already consumed (and kept)."""
        while True:
            match = _STRING_STOP.search(self._buf, self._pos)
            if match is None:
                self._read_on(keep, len(self._buf))
                continue
            if match.group() == b'"':
                if keep is not None:
                    keep.add(self._buf[self._pos : match.end()])
                self._pos = match.end()
                return
            # A backslash escapes the next byte, which may still be in the next chunk.
            if match.end() >= len(self._buf):
                self._read_on(keep, match.start())
                continue
            if keep is not None:
                keep.add(self._buf[self._pos : match.end() + 1])
            self._pos = match.end() + 1

    def _container_rest(self, keep: _Budget | None) -> None:
        """Consume an object or array whose opening bracket is already consumed (and kept)."""
        depth = 1
        while True:
            match = _STRUCTURE.search(self._buf, self._pos)
            if match is None:
                self._read_on(keep, len(self._buf))
                continue
            if keep is not None:
                keep.add(self._buf[self._pos : match.end()])
            self._pos = match.end()
            token = match.group()
            if token == b'"':
                self._string_rest(keep)
            elif token in (b"{", b"["):
                depth += 1
                # Only kept values reach json.loads; a skipped one is just counted.
                if keep is not None and depth > self._max_depth:
                    raise EvalLogError(f"the log's JSON is nested more than {self._max_depth} levels deep")
            else:
                depth -= 1
                if depth == 0:
                    return

    def _scalar_rest(self, keep: _Budget | None) -> None:
        """Consume the rest of a number, true, false or null (its first byte is consumed)."""
        while True:
            match = _SCALAR_END.search(self._buf, self._pos)
            end = match.start() if match else len(self._buf)
            if keep is not None:
                keep.add(self._buf[self._pos : end])
            self._pos = end
            if match is not None or not self._fill():
                return

    def _value(self, keep: _Budget | None) -> None:
        first = self._next_significant()
        if first is None:
            raise EvalLogError(_TRUNCATED)
        if keep is not None:
            keep.add(bytes((first,)))
        if first in b"{[":
            self._container_rest(keep)
        elif first == ord('"'):
            self._string_rest(keep)
        elif first in b"}],:":
            raise EvalLogError("the log is not valid JSON")
        else:
            self._scalar_rest(keep)

    def _decode(self, raw: bytes | bytearray) -> Any:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            # ValueError covers bad syntax, bad UTF-8 and over-long integer literals.
            raise EvalLogError("the log is not valid JSON") from None

    # -- the top-level object ----------------------------------------------------------------

    def members(self, wanted: frozenset[str], *, each: Each | None = None) -> dict[str, Any]:
        """The wanted members of the top-level object, decoded; the others skipped. With `each`,
        the top-level member it names must be an array of objects: each element's wanted
        members are decoded (within `max_keep` bytes an element) and handed to its callback,
        one element at a time, the rest of every element skipped."""
        first = self._next_significant()
        if first is None:
            raise EvalLogError("the log is empty")
        if first != ord("{"):
            raise EvalLogError("not an Inspect log: the document is not a JSON object")
        found = self._object_rest(wanted, self._header_budget, each=each)
        # Like json.loads, refuse anything but whitespace after the document.
        if self._next_significant() is not None:
            raise EvalLogError("the log is not valid JSON (data after the end of the document)")
        return found

    def _header_budget(self) -> _Budget:
        return _Budget(self._keep_left, f"the log's header is larger than the {self._max_keep} bytes allowed")

    def _element_budget(self) -> _Budget:
        return _Budget(self._max_keep, f"a sample is larger than the {self._max_keep} bytes allowed")

    def _object_rest(self, wanted: frozenset[str], budget: Callable[[], _Budget], *, each: Each | None = None):
        """An object whose `{` was read: its wanted members decoded, the others skipped."""
        found: dict[str, Any] = {}
        first_member = True
        while True:
            byte = self._next_significant()
            if byte is None:
                raise EvalLogError(_TRUNCATED)
            if byte == ord("}") and first_member:
                break
            if byte != ord('"'):
                raise EvalLogError("the log is not valid JSON")
            key_bytes = _Budget(MAX_KEY_BYTES, "not an Inspect log: a member name is too long")
            key_bytes.add(b'"')
            self._string_rest(key_bytes)
            key = self._decode(key_bytes.data)
            if self._next_significant() != ord(":"):
                raise EvalLogError("the log is not valid JSON")
            if each is not None and key == each.member:
                self._array_of_objects(each)
            elif key in wanted:
                keep = budget()
                self._value(keep)
                if budget == self._header_budget:
                    self._keep_left -= len(keep.data)
                found[key] = self._decode(keep.data)
            else:
                self._value(None)
            separator = self._next_significant()
            if separator == ord("}"):
                break
            if separator != ord(","):
                raise EvalLogError(_TRUNCATED if separator is None else "the log is not valid JSON")
            first_member = False
        return found

    def _array_of_objects(self, each: Each) -> None:
        opening = self._next_significant()
        if opening == ord("n"):  # null: no elements
            self._scalar_rest(None)
            return
        if opening != ord("["):
            raise EvalLogError(f"not an Inspect log: {each.member} is not a list")
        count = 0
        while True:
            byte = self._next_significant()
            if byte is None:
                raise EvalLogError(_TRUNCATED)
            if byte == ord("]") and count == 0:
                return
            if byte != ord("{"):
                raise EvalLogError(f"not an Inspect log: an element of {each.member} is not an object")
            count += 1
            if count > each.max_count:
                raise EvalLogError(f"the log has more than {each.max_count} {each.member}")
            each.callback(self._object_rest(each.wanted, self._element_budget))
            separator = self._next_significant()
            if separator == ord("]"):
                return
            if separator != ord(","):
                raise EvalLogError(_TRUNCATED if separator is None else "the log is not valid JSON")


@dataclass(frozen=True)
class Each:
    """What `ObjectScanner.members` does with a top-level array of objects (the samples)."""

    member: str
    wanted: frozenset[str]
    callback: Callable[[dict[str, Any]], None]
    max_count: int
