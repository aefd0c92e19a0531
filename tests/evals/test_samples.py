"""Per-sample results: each sample's id, epoch and score values are read from both log formats
(and nothing of its transcript), stored with the run for comparing institutes sample by sample,
and refused with a clear reason when a hostile log lies about them."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest
from django.core.management import call_command

from evals.models import EvalRun, EvalSample
from evals.parser import EvalLogError, EvalLogLimits, parse_eval_log, score_value
from tests.evals.zips import Entry, build_zip
from tests.factories import AttachmentFactory, DocumentFactory

FIXTURES = Path(__file__).parent / "fixtures"
MIB = 1024 * 1024


def parsed_samples(data: bytes, filename: str, limits: EvalLogLimits | None = None):
    return parse_eval_log(io.BytesIO(data), filename=filename, limits=limits, samples=True).samples


def expected(run: str) -> list[tuple[str, int, dict[str, float | None]]]:
    """What the .json fixture says, read with the standard library: the ground truth."""
    log = json.loads((FIXTURES / f"{run}.json").read_bytes())
    return [
        (str(s["id"]), s["epoch"], {name: score_value(score["value"]) for name, score in s["scores"].items()})
        for s in log["samples"]
    ]


def as_rows(samples) -> list[tuple[str, int, dict[str, float | None]]]:
    return [(s.sample_id, s.epoch, {score.scorer: score.value for score in s.scores}) for s in samples]


@pytest.mark.parametrize("run", ["success", "multi_scorer", "epochs", "error"])
@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_both_formats_give_every_sample_with_its_scores(run, suffix):
    got = as_rows(parsed_samples((FIXTURES / f"{run}{suffix}").read_bytes(), f"{run}{suffix}"))
    assert sorted(got, key=lambda r: (r[0], r[1])) == sorted(expected(run), key=lambda r: (r[0], r[1]))


def test_epochs_are_told_apart_and_letter_grades_become_numbers():
    got = {
        (s.sample_id, s.epoch): s.scores[0].value
        for s in parsed_samples((FIXTURES / "epochs.json").read_bytes(), "epochs.json")
    }
    # The mock model answers q4 right in epoch 1 and wrong ("nine") in epochs 2 and 3.
    assert got[("q4", 1)] == 1.0 and got[("q4", 2)] == got[("q4", 3)] == 0.0
    assert len(got) == 6


def test_samples_are_read_only_when_asked():
    assert parse_eval_log(io.BytesIO((FIXTURES / "success.json").read_bytes()), filename="success.json").samples == ()


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("C", 1.0),
        ("I", 0.0),
        ("P", 0.5),
        ("N", 0.0),
        (" yes ", 1.0),
        ("False", 0.0),
        (True, 1.0),
        (False, 0.0),
        (3, 3.0),
        (0.25, 0.25),
        ("0.75", 0.75),
        ("nan", None),
        (float("inf"), None),
        ("the model said something long", None),
        ([1, 2], None),
        (None, None),
    ],
)
def test_score_values_become_numbers_or_nothing(value, number):
    assert score_value(value) == number


def test_a_dict_valued_score_gives_one_value_per_key():
    log = json.loads((FIXTURES / "success.json").read_bytes())
    log["samples"] = [{"id": 7, "epoch": 1, "scores": {"rubric": {"value": {"accuracy": "C", "style": 0.5}}}}]
    (sample,) = parsed_samples(json.dumps(log).encode(), "x.json")
    assert sample.sample_id == "7"
    assert {s.scorer: s.value for s in sample.scores} == {"rubric/accuracy": 1.0, "rubric/style": 0.5}


def _json_with(samples) -> bytes:
    log = json.loads((FIXTURES / "success.json").read_bytes())
    log["samples"] = samples
    return json.dumps(log).encode()


def _eval_with(members: dict[str, bytes]) -> bytes:
    header = json.loads((FIXTURES / "success.json").read_bytes())
    header.pop("samples")
    entries = [Entry("header.json", json.dumps(header).encode())]
    entries += [Entry(name, data) for name, data in members.items()]
    return build_zip(entries)


@pytest.mark.parametrize(
    ("samples", "reason"),
    [
        ([{"id": "q1", "epoch": 1, "scores": {}}] * 2, "appears twice"),
        ([{"epoch": 1, "scores": {}}], "has no id"),
        ([{"id": "", "epoch": 1, "scores": {}}], "has no id"),
        ([{"id": True, "epoch": 1, "scores": {}}], "has no id"),
        ([{"id": "q1", "epoch": 0, "scores": {}}], "epoch"),
        ([{"id": "q1", "epoch": "1", "scores": {}}], "epoch"),
        ([{"id": "q1", "epoch": 1, "scores": ["C"]}], "scores are not an object"),
        ([{"id": "x" * 300, "epoch": 1, "scores": {}}], "longer than 255"),
        (["q1"], "is not an object"),
        ({"q1": {}}, "is not a list"),
        ([{"id": "q1", "epoch": 1, "scores": {"a/b": {"value": 1}, "a": {"value": {"b": 1}}}}], "same scorer twice"),
    ],
)
def test_hostile_samples_in_a_json_log_are_refused_with_a_reason(samples, reason):
    with pytest.raises(EvalLogError) as caught:
        parsed_samples(_json_with(samples), "x.json")
    assert reason in caught.value.reason


def test_hostile_samples_in_an_eval_log_are_refused_with_a_reason():
    member = json.dumps({"id": "q1", "epoch": 1, "scores": {}}).encode()
    archive = _eval_with({"samples/q1_epoch_1.json": member, "samples/copy.json": member})
    with pytest.raises(EvalLogError) as caught:
        parsed_samples(archive, "x.eval")
    assert "appears twice" in caught.value.reason


def test_too_many_samples_are_refused():
    limits = EvalLogLimits(max_members=3)
    samples = [{"id": f"q{i}", "epoch": 1, "scores": {}} for i in range(4)]
    with pytest.raises(EvalLogError) as caught:
        parsed_samples(_json_with(samples), "x.json", limits)
    assert "more than 3 samples" in caught.value.reason


def test_an_eval_logs_samples_are_read_within_their_budget():
    padding = "x" * 4096
    members = {
        f"samples/q{i}_epoch_1.json": json.dumps({"id": f"q{i}", "epoch": 1, "scores": {}, "output": padding}).encode()
        for i in range(5)
    }
    with pytest.raises(EvalLogError) as caught:
        parsed_samples(_eval_with(members), "x.eval", EvalLogLimits(max_samples_bytes=3 * 4096))
    assert "samples are larger than" in caught.value.reason


def test_large_transcripts_are_skipped_in_bounded_memory():
    """Ten samples of 4 MiB of output each: the scores come out, the transcripts are never held."""
    big = "y" * (4 * MIB)
    samples = [
        {"id": f"q{i}", "epoch": 1, "output": {"completion": big}, "scores": {"m": {"value": "C"}}} for i in range(10)
    ]
    data = _json_with(samples)
    tracemalloc.start()
    try:
        got = parsed_samples(data, "x.json", EvalLogLimits(max_log_bytes=128 * MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(got) == 10 and all(s.scores[0].value == 1.0 for s in got)
    assert peak < 2 * MIB, f"peak {peak} bytes"


@pytest.mark.django_db
def test_the_task_stores_samples_and_no_transcript_text_reaches_the_database(
    alice, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        attachment = AttachmentFactory(
            document=DocumentFactory(author=alice, status="draft"),
            data=(FIXTURES / "epochs.eval").read_bytes(),
            filename="epochs.eval",
            content_type="application/zip",
        )
    run = EvalRun.objects.get(attachment_code=attachment.code)
    rows = set(EvalSample.objects.filter(run=run).values_list("sample_id", "epoch", "scorer", "value"))
    assert rows == {
        (sid, epoch, name, value) for sid, epoch, scores in expected("epochs") for name, value in scores.items()
    }
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    # The questions the samples asked and the wrong answer the model gave are in the log only.
    assert "What is 4 + 4" not in dump.getvalue() and '"nine"' not in dump.getvalue()
