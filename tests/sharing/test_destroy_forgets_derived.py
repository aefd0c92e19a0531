"""Destroying an attachment removes everything derived from its plaintext: the eval run read
from it, its scores and model usage. In the same transaction as the crypto-shred, counted in the
destruction's audit event; and a parse that finishes after the destruction stores nothing."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from evals import services as eval_services
from evals.models import EvalModelUsage, EvalRun, EvalSample, EvalScore
from evals.parser import parse_eval_log as parse_log
from evals.tasks import parse_eval_log
from sharing.models import Attachment
from vault import attachments as vault_attachments
from vault.attachments import AttachmentDestroyed, attachment_destroy

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"


@pytest.fixture
def parsed_log(make_attachment, django_capture_on_commit_callbacks):
    """A clean Inspect log of Alice's draft, parsed into a run with scores and model usage."""
    with django_capture_on_commit_callbacks(execute=True):
        attachment = make_attachment(
            (FIXTURES / "success.eval").read_bytes(), filename="success.eval", content_type="application/zip"
        )
    run = EvalRun.objects.get(attachment_code=attachment.code)
    assert run.parse_status == EvalRun.ParseStatus.PARSED
    assert run.scores.exists() and run.model_usage.exists() and run.samples.exists()
    return attachment, run


def derived_rows(run) -> tuple[int, int, int, int]:
    return (
        EvalRun.objects.filter(pk=run.pk).count(),
        EvalScore.objects.filter(run_id=run.pk).count(),
        EvalModelUsage.objects.filter(run_id=run.pk).count(),
        EvalSample.objects.filter(run_id=run.pk).count(),
    )


def test_destroying_a_log_deletes_its_run_scores_and_usage_and_counts_them(alice, parsed_log):
    attachment, run = parsed_log
    runs, scores, usage, samples = derived_rows(run)
    attachment_destroy(actor=alice, attachment=attachment)
    assert derived_rows(run) == (0, 0, 0, 0)
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_DESTROYED, target_id=str(attachment.code))
    assert event.details["removed"] == {
        "eval_model_usage": usage,
        "eval_runs": runs,
        "eval_scores": scores,
        "eval_samples": samples,
    }
    # What the log said is gone from the database: the task and model names were plaintext.
    assert not EvalRun.objects.filter(task=run.task, model=run.model).exists()


def test_destroying_from_the_page_deletes_the_results_too(verified_client, alice, parsed_log):
    attachment, run = parsed_log
    response = verified_client(alice).post(reverse("sharing:attachment_destroy", args=[attachment.code]))
    assert response.status_code == 204
    assert derived_rows(run) == (0, 0, 0, 0)


def test_a_file_with_nothing_derived_records_zero_counts(alice, make_attachment):
    attachment = make_attachment(b"plain notes\n")
    attachment_destroy(actor=alice, attachment=attachment)
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_DESTROYED)
    assert event.details["removed"] == {"eval_model_usage": 0, "eval_runs": 0, "eval_scores": 0, "eval_samples": 0}


def test_the_results_go_only_if_the_destruction_commits(alice, parsed_log):
    """One transaction: when the destruction fails at its audit event, the key and the results
    are both still there."""
    attachment, run = parsed_log
    before = derived_rows(run)
    with mock.patch.object(vault_attachments, "record", side_effect=RuntimeError("audit down")):
        with pytest.raises(RuntimeError):
            attachment_destroy(actor=alice, attachment=attachment)
    attachment.refresh_from_db()
    assert not attachment.is_destroyed and attachment.wrapped_dek is not None
    assert derived_rows(run) == before


def test_a_parse_that_ends_after_the_destruction_stores_nothing(alice, parsed_log):
    attachment, run = parsed_log
    with vault_attachments.open_plaintext(attachment.code) as stream:  # read before the shred
        parsed = parse_log(stream)
    attachment_destroy(actor=alice, attachment=attachment)
    with pytest.raises(AttachmentDestroyed):
        eval_services.eval_run_from_parsed(attachment_code=attachment.code, parsed=parsed)
    with pytest.raises(AttachmentDestroyed):
        eval_services.eval_run_mark_failed(attachment_code=attachment.code, reason="late")
    assert not EvalRun.objects.filter(attachment_code=attachment.code).exists()


def test_a_parse_queued_before_the_destruction_finds_nothing_to_do(alice, parsed_log):
    attachment, _ = parsed_log
    attachment_destroy(actor=alice, attachment=attachment)
    assert parse_eval_log(str(attachment.code)) == "missing"
    assert not EvalRun.objects.filter(attachment_code=attachment.code).exists()


def test_other_logs_keep_their_results(alice, parsed_log, make_attachment, django_capture_on_commit_callbacks):
    attachment, _ = parsed_log
    with django_capture_on_commit_callbacks(execute=True):
        other = make_attachment(
            (FIXTURES / "multi_scorer.json").read_bytes(), filename="multi.json", content_type="application/json"
        )
    kept = EvalRun.objects.get(attachment_code=other.code)
    attachment_destroy(actor=alice, attachment=attachment)
    assert derived_rows(kept)[0] == 1 and kept.scores.exists()
    assert Attachment.objects.get(pk=other.pk).wrapped_dek is not None
