"""An uploaded Inspect log is scanned, then parsed from its ciphertext into an EvalRun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.models import EvalRun

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.mark.parametrize("name", ["success.eval", "multi_scorer.json"])
def test_clean_inspect_log_is_parsed_into_results(media, make_attachment, django_capture_on_commit_callbacks, name):
    content_type = "application/zip" if name.endswith(".eval") else "application/json"
    with django_capture_on_commit_callbacks(execute=True):
        attachment = make_attachment((FIXTURES / name).read_bytes(), filename=name, content_type=content_type)
    assert attachment.scan_status == attachment.ScanStatus.CLEAN
    run = EvalRun.objects.get(attachment_code=attachment.code)
    expected = EXPECTED[name]
    assert run.parse_status == EvalRun.ParseStatus.PARSED
    assert run.task == expected["task"]
    assert run.model == expected["model"]
    assert run.completed_samples == expected["completed_samples"]
    # A metric named "stderr" is stored as the stderr of its sibling metrics, not as a row.
    expected_rows = sum(len([m for m in s["metrics"] if m != "stderr"]) for s in expected["scores"])
    assert run.scores.count() == expected_rows


def test_plain_text_attachment_gets_no_eval_run(media, make_attachment):
    attachment = make_attachment(b"just notes\n", filename="notes.txt")
    assert attachment.scan_status == attachment.ScanStatus.CLEAN
    assert not EvalRun.objects.filter(attachment_code=attachment.code).exists()


def test_json_that_is_not_an_inspect_log_is_marked_failed_not_crashed(
    media, make_attachment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        attachment = make_attachment(b'{"rows": [1, 2, 3]}', filename="data.json", content_type="application/json")
    run = EvalRun.objects.get(attachment_code=attachment.code)
    assert run.parse_status == EvalRun.ParseStatus.FAILED
    assert run.parse_error
