"""The parser against logs written by the real inspect_ai (see fixtures/make_fixtures.py)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evals.parser import (
    EvalLogError,
    EvalLogLimits,
    ParsedEvalLog,
    ParsedModelUsage,
    ParsedScore,
    parse_eval_log,
)
from evals.ziplog import MemberReader, read_directory
from tests.evals.zips import DEFLATED, STORED, Entry, build_zip

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
RUNS = ["success", "error", "multi_scorer", "epochs"]
FORMATS = ["eval", "json"]
ALL = [f"{run}.{fmt}" for run in RUNS for fmt in FORMATS]


class OneWayStream:
    """A stream that cannot seek and hands out a few bytes at a time, like a decrypting reader."""

    def __init__(self, data: bytes, step: int = 1000) -> None:
        self._data, self._position, self._step = data, 0, step

    def read(self, size: int = -1) -> bytes:
        size = self._step if size is None or size < 0 else min(size, self._step)
        piece = self._data[self._position : self._position + size]
        self._position += len(piece)
        return piece

    def seekable(self) -> bool:
        return False


def parse(name: str) -> ParsedEvalLog:
    with open(FIXTURES / name, "rb") as fh:
        return parse_eval_log(fh, filename=name)


def usage(input_tokens: int, output_tokens: int, total_tokens: int) -> tuple[ParsedModelUsage, ...]:
    return (ParsedModelUsage("mockllm/model", input_tokens, output_tokens, total_tokens, None, None, None, None),)


@pytest.mark.parametrize("fmt", FORMATS)
def test_success_run(fmt):
    log = parse(f"success.{fmt}")
    assert log.log_format == fmt
    assert (log.status, log.task, log.task_version, log.model) == (
        "success",
        "arithmetic_success",
        "2",
        "mockllm/model",
    )
    assert (log.dataset_name, log.dataset_samples, log.epochs) == ("arithmetic", 4, 1)
    assert (log.total_samples, log.completed_samples) == (4, 4)
    assert log.error_message is None
    # Three of the four answers are right.
    assert log.scores == (ParsedScore("match", "match", None, "accuracy", 0.75, 0.25),)
    # Four model calls at 11 + 3 tokens each.
    assert log.model_usage == usage(44, 12, 56)
    assert log.created.tzinfo is UTC
    assert log.created <= log.started <= log.completed
    assert log.log_version == 2
    assert len(log.eval_id) == 22 and len(log.run_id) == 22


@pytest.mark.parametrize("fmt", FORMATS)
def test_error_run_keeps_the_error_message_and_has_no_results(fmt):
    log = parse(f"error.{fmt}")
    assert (log.status, log.task) == ("error", "arithmetic_error")
    assert log.error_message == "RuntimeError('fixture solver failed on purpose')"
    assert (log.total_samples, log.completed_samples) == (None, None)
    assert log.dataset_samples == 2
    assert log.scores == ()
    # The solver fails before asking the model anything.
    assert log.model_usage == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_multi_scorer_run_keeps_every_scorer_and_metric(fmt):
    log = parse(f"multi_scorer.{fmt}")
    assert log.task == "arithmetic_multi_scorer"
    assert log.scores == (
        ParsedScore("match", "match", None, "accuracy", 0.75, 0.25),
        ParsedScore("includes", "includes", None, "accuracy", 0.75, 0.25),
        # is_even has no stderr metric.
        ParsedScore("is_even", "is_even", None, "accuracy", 0.75, None),
        # Answer lengths 1, 1, 1 and 4 ("nine").
        ParsedScore("answer_length", "answer_length", None, "mean", 1.75, 0.75),
    )
    assert log.model_usage == usage(44, 12, 56)


@pytest.mark.parametrize("fmt", FORMATS)
def test_multi_epoch_run_counts_every_epoch_and_keeps_each_reducer(fmt):
    log = parse(f"epochs.{fmt}")
    assert log.task == "arithmetic_epochs"
    assert (log.epochs, log.dataset_samples) == (3, 2)
    assert (log.total_samples, log.completed_samples) == (6, 6)
    # q3 is always right; q4 only on its first epoch: mean (1 + 1/3) / 2, max 1.
    assert log.scores == (
        ParsedScore("match", "match", "mean", "accuracy", pytest.approx(2 / 3), pytest.approx(1 / 3)),
        ParsedScore("match", "match", "max", "accuracy", 1.0, 0.0),
    )
    assert log.model_usage == usage(66, 18, 84)


@pytest.mark.parametrize("name", ALL)
def test_parser_agrees_with_inspects_own_reader(name):
    """expected.json holds what inspect_ai.log.read_eval_log saw in each fixture."""
    expected, log = EXPECTED[name], parse(name)
    for field in ("status", "task", "model", "dataset_name", "dataset_samples", "epochs"):
        assert getattr(log, field) == expected[field], field
    for field in ("total_samples", "completed_samples", "error_message"):
        assert getattr(log, field) == expected[field], field
    assert log.task_version == str(expected["task_version"])
    assert log.created == datetime.fromisoformat(expected["created"])
    assert log.started == datetime.fromisoformat(expected["started_at"])
    assert log.completed == datetime.fromisoformat(expected["completed_at"])
    seen = {(s.scorer_name, s.reducer, s.metric): (s.scorer, s.value, s.stderr) for s in log.scores}
    for score in expected["scores"]:
        metrics = dict(score["metrics"])
        stderr = metrics.pop("stderr", None) if len(metrics) > 1 else None
        for metric, value in metrics.items():
            assert seen.pop((score["name"], score["reducer"], metric)) == (score["scorer"], value, stderr)
    assert seen == {}
    assert {u.model: (u.input_tokens, u.output_tokens, u.total_tokens) for u in log.model_usage} == {
        model: (u["input_tokens"], u["output_tokens"], u["total_tokens"])
        for model, u in expected["model_usage"].items()
    }


@pytest.mark.parametrize("name", ALL)
def test_every_kind_of_stream_gives_the_same_result(name):
    data = (FIXTURES / name).read_bytes()
    from_file = parse(name)
    assert parse_eval_log(io.BytesIO(data), filename=name) == from_file
    # Not seekable, 7 bytes at a time: the .eval archive is buffered, the .json streamed.
    assert parse_eval_log(OneWayStream(data, step=7), filename=name) == from_file
    # No file name: the format is told from the first bytes.
    assert parse_eval_log(io.BytesIO(data)) == from_file
    assert parse_eval_log(OneWayStream(data)) == from_file


def test_a_stream_is_read_from_its_current_position():
    data = (FIXTURES / "success.eval").read_bytes()
    stream = io.BytesIO(b"prefix that is not part of the log" + data)
    stream.seek(34)
    assert parse_eval_log(stream, filename="x.eval") == parse("success.eval")


@pytest.mark.parametrize("run", RUNS)
def test_eval_fixtures_really_use_zstd_which_zipfile_cannot_read(run):
    with zipfile.ZipFile(FIXTURES / f"{run}.eval") as archive:
        infos = {info.filename: info for info in archive.infolist()}
        assert {info.compress_type for info in infos.values() if info.file_size} == {93}
        assert "header.json" in infos
        with pytest.raises(NotImplementedError, match="compression method is not supported"):
            archive.read("header.json")


@pytest.mark.parametrize("method", [STORED, DEFLATED])
def test_older_zip_methods_are_read_too(method):
    """Inspect wrote deflated entries before it moved to zstd."""
    with zipfile.ZipFile(FIXTURES / "multi_scorer.eval") as archive:
        names = [info.filename for info in archive.infolist()]
    header = json.dumps(
        {k: v for k, v in json.loads((FIXTURES / "multi_scorer.json").read_bytes()).items() if k != "samples"}
    )
    data = build_zip(
        [Entry(name, b"{}", method=method) for name in names if name != "header.json"]
        + [Entry("header.json", header.encode(), method=method)]
    )
    # The hand-made archive is a real zip: the standard library agrees with it.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("header.json")) == json.loads(header)
    assert parse_eval_log(io.BytesIO(data), filename="old.eval").scores == parse("multi_scorer.json").scores


def test_a_log_still_being_written_is_read_from_its_journal():
    with zipfile.ZipFile(FIXTURES / "success.eval") as archive:
        start = archive.getinfo("_journal/start.json")
    data = (FIXTURES / "success.eval").read_bytes()
    # Re-pack the journal's start record alone, as Inspect has it while the run goes on.
    fp = io.BytesIO(data)
    member = read_directory(fp, len(data), EvalLogLimits(), frozenset({start.filename}))[start.filename]
    reader = MemberReader(fp, len(data), member, EvalLogLimits())
    body = b"".join(iter(lambda: reader.read(1 << 16), b""))
    log = parse_eval_log(io.BytesIO(build_zip([Entry("_journal/start.json", body)])), filename="running.eval")
    assert (log.status, log.task, log.model) == ("started", "arithmetic_success", "mockllm/model")
    assert log.scores == () and log.total_samples is None


def test_a_file_name_that_is_not_a_log_is_refused_by_content():
    with pytest.raises(EvalLogError, match="neither a zip archive"):
        parse_eval_log(io.BytesIO(b"%PDF-1.7 ..."), filename="report.pdf")
