"""One sample's transcript, read on demand from the encrypted log: never stored in the database.

Comparing two institutes' runs sample by sample needs, for a disagreeing sample, what each
model was asked, what was expected, what it answered and why the scorer judged as it did. Those
texts stay in the log; this module reads one sample's worth out of the decrypted stream in
bounded memory (the parser's limits: one `.eval` member, or one element of a `.json` log's
samples at a time) and returns it for one response. Callers decide who may read it: the run's
log must be readable by the viewer (`evals.selectors.readable_runs`).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from vault import attachments

from .errors import EvalLogError, EvalLogLimits
from .jsonscan import Each, ObjectScanner
from .parser import SAMPLES, _format_of, _Offset, _Source, member_scanner
from .ziplog import read_directory

TRANSCRIPT_WANTED = frozenset({"id", "epoch", "input", "target", "output", "scores"})
# What one response shows of each text; the rest is cut with a note, never streamed whole.
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Transcript:
    sample_id: str
    epoch: int
    input: str
    target: str
    output: str
    explanations: dict[str, str] = field(default_factory=dict)


class _Found(Exception):
    def __init__(self, element: dict[str, Any]) -> None:
        self.element = element


def read_transcript(
    stream: BinaryIO,
    *,
    sample_id: str,
    epoch: int,
    filename: str | None = None,
    limits: EvalLogLimits | None = None,
) -> Transcript | None:
    """The transcript of (`sample_id`, `epoch`) in the log read from `stream`, or None if the
    log has no such sample. Raises EvalLogError for a log that cannot be read."""
    limits = limits or EvalLogLimits.from_settings()
    source = _Source(stream)
    if _format_of(filename, source) == "eval":
        element = _from_eval(stream, source, limits, sample_id, epoch)
    else:
        element = _from_json(source, limits, sample_id, epoch)
    return _transcript(element, sample_id, epoch) if element is not None else None


def _from_eval(stream, source, limits: EvalLogLimits, sample_id: str, epoch: int) -> dict[str, Any] | None:
    size = source.seekable_size()
    if size is None:  # the vault's plaintext stream seeks; a one-way stream is read whole
        archive: Any = io.BytesIO(_bounded_read(source, limits))
        size = len(archive.getbuffer())
    else:
        archive = _Offset(stream, source)
    name = f"samples/{sample_id}_epoch_{epoch}.json"
    member = read_directory(archive, size, limits, frozenset({name})).get(name)
    if member is None:
        return None
    return member_scanner(archive, size, member, limits).members(TRANSCRIPT_WANTED)


def _bounded_read(source, limits: EvalLogLimits) -> bytes:
    data = bytearray()
    while chunk := source.read(1024 * 1024):
        data += chunk
        if len(data) > limits.max_log_bytes:
            raise EvalLogError(f"the log is larger than the {limits.max_log_bytes} bytes allowed")
    return bytes(data)


def _from_json(source, limits: EvalLogLimits, sample_id: str, epoch: int) -> dict[str, Any] | None:
    def check(element: dict[str, Any]) -> None:
        if str(element.get("id")) == sample_id and element.get("epoch", 1) == epoch:
            raise _Found(element)  # stop reading: the rest of the log is not needed

    scanner = ObjectScanner(
        source.read, max_bytes=limits.max_log_bytes, max_keep=limits.max_member_bytes, max_depth=limits.max_json_depth
    )
    try:
        scanner.members(frozenset(), each=Each(SAMPLES, TRANSCRIPT_WANTED, check, limits.max_members))
    except _Found as found:
        return found.element
    return None


def _transcript(element: dict[str, Any], sample_id: str, epoch: int) -> Transcript:
    scores = element.get("scores") if isinstance(element.get("scores"), dict) else {}
    explanations = {
        str(name): _cut(score.get("explanation"))
        for name, score in scores.items()
        if isinstance(score, dict) and isinstance(score.get("explanation"), str)
    }
    return Transcript(
        sample_id=sample_id,
        epoch=epoch,
        input=_cut(_input_text(element.get("input"))),
        target=_cut("\n".join(_texts(element.get("target")))),
        output=_cut(_output_text(element.get("output"))),
        explanations=explanations,
    )


def _input_text(value: Any) -> str:
    """A sample's input: a string, or chat messages shown as `role: text` lines."""
    if isinstance(value, list):
        lines = []
        for message in value:
            if isinstance(message, dict):
                lines.append(f"{message.get('role', 'message')}: {_content(message.get('content'))}")
        return "\n".join(lines)
    return "\n".join(_texts(value))


def _output_text(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    if isinstance(value.get("completion"), str) and value["completion"]:
        return value["completion"]
    choices = value.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _content(message.get("content"))
    return ""


def _content(value: Any) -> str:
    """A message's content: a string, or the text parts of a list of content blocks."""
    if isinstance(value, list):
        return "\n".join(part["text"] for part in value if isinstance(part, dict) and isinstance(part.get("text"), str))
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))


def _cut(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n[… {len(text) - MAX_TEXT} more characters]"


def transcript_of_attachment(attachment_code: uuid.UUID, *, filename: str, sample_id: str, epoch: int):
    """The transcript from an attachment's log, decrypted as a stream (nothing written to disk).
    No access check here: the caller has already decided the viewer may read the run."""
    with attachments.open_plaintext(attachment_code) as stream:
        return read_transcript(stream, filename=filename, sample_id=sample_id, epoch=epoch)
