"""A disagreeing sample's transcript is read on demand from the log, in bounded memory, from
both formats alike; nothing of it is stored."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

from evals.errors import EvalLogError, EvalLogLimits
from evals.transcripts import MAX_TEXT, read_transcript, transcript_of_attachment
from tests.factories import AttachmentFactory, DocumentFactory

FIXTURES = Path(__file__).parent / "fixtures"
MIB = 1024 * 1024


@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_the_transcript_of_one_sample_and_epoch(suffix):
    with (FIXTURES / f"epochs{suffix}").open("rb") as stream:
        wrong = read_transcript(stream, filename=f"epochs{suffix}", sample_id="q4", epoch=2)
    assert wrong.input == "What is 4 + 4?" and wrong.target == "8"
    assert wrong.output == "nine" and wrong.explanations == {"match": "nine"}
    with (FIXTURES / f"epochs{suffix}").open("rb") as stream:
        right = read_transcript(stream, filename=f"epochs{suffix}", sample_id="q4", epoch=1)
    assert right.output == "8"


@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_a_sample_the_log_does_not_hold_is_none(suffix):
    with (FIXTURES / f"epochs{suffix}").open("rb") as stream:
        assert read_transcript(stream, filename=f"epochs{suffix}", sample_id="q4", epoch=9) is None


def test_chat_inputs_and_content_blocks_read_as_text():
    log = json.loads((FIXTURES / "success.json").read_bytes())
    log["samples"] = [
        {
            "id": 1,
            "epoch": 1,
            "input": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            ],
            "target": ["a", "b"],
            "output": {"choices": [{"message": {"content": [{"type": "text", "text": "Hello"}]}}]},
            "scores": {"m": {"value": "I", "explanation": "wrong"}},
        }
    ]
    got = read_transcript(io.BytesIO(json.dumps(log).encode()), filename="x.json", sample_id="1", epoch=1)
    assert got.input == "system: Be brief.\nuser: Hi" and got.target == "a\nb" and got.output == "Hello"
    assert got.explanations == {"m": "wrong"}


def test_a_huge_output_is_cut_for_display_and_read_in_bounded_memory():
    log = json.loads((FIXTURES / "success.json").read_bytes())
    others = [{"id": f"o{i}", "epoch": 1, "output": {"completion": "z" * (2 * MIB)}} for i in range(10)]
    log["samples"] = [*others, {"id": "big", "epoch": 1, "output": {"completion": "y" * (3 * MIB)}, "scores": {}}]
    data = io.BytesIO(json.dumps(log).encode())
    tracemalloc.start()
    try:
        got = read_transcript(data, filename="x.json", sample_id="big", epoch=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.output.startswith("y" * MAX_TEXT) and "more characters" in got.output
    # One element held at a time (here 3 MiB, decoded once): not the 23 MiB log.
    assert peak < 12 * MIB, f"peak {peak} bytes"


def test_a_sample_larger_than_the_limit_is_refused():
    log = json.loads((FIXTURES / "success.json").read_bytes())
    log["samples"] = [{"id": "big", "epoch": 1, "output": {"completion": "y" * MIB}}]
    with pytest.raises(EvalLogError) as caught:
        read_transcript(
            io.BytesIO(json.dumps(log).encode()),
            filename="x.json",
            sample_id="big",
            epoch=1,
            limits=EvalLogLimits(max_member_bytes=MIB // 2),
        )
    assert "larger than" in caught.value.reason


@pytest.mark.django_db
def test_read_from_the_encrypted_attachment(alice, media, django_capture_on_commit_callbacks):
    attachment = AttachmentFactory(
        document=DocumentFactory(author=alice, status="draft"),
        data=(FIXTURES / "epochs.eval").read_bytes(),
        filename="epochs.eval",
        content_type="application/zip",
    )
    got = transcript_of_attachment(attachment.code, filename="epochs.eval", sample_id="q4", epoch=3)
    assert got.output == "nine"
