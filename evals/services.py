"""Writes of eval results: storing what a log says, or why it could not be read."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from vault.attachments import AttachmentDestroyed
from vault.registry import attachment_model

from .models import EvalModelUsage, EvalRun, EvalSample, EvalScore
from .parsed import ParsedEvalLog

# Per-sample rows written per INSERT (a log may hold tens of thousands).
SAMPLE_BATCH = 2000

# The fields that describe the run itself; cleared when a log turns out unreadable, so a run
# never shows the results of an earlier parse next to a failure.
RESULT_DEFAULTS: dict[str, Any] = {
    "log_format": "",
    "status": "",
    "task": "",
    "task_version": "",
    "model": "",
    "eval_id": "",
    "run_id": "",
    "created_at": None,
    "started_at": None,
    "completed_at": None,
    "dataset_name": "",
    "dataset_samples": None,
    "epochs": None,
    "total_samples": None,
    "completed_samples": None,
    "error_message": "",
    "temperature": None,
    "max_tokens": None,
    "seed": None,
    "solver": "",
    "scorer_names": [],
}


def _audit_target(run: EvalRun) -> tuple[str, str, str]:
    """The run as the audit trail names it: by codes only. The trail is kept for ever, while the
    task and model names come from the log's plaintext and go when the attachment is destroyed."""
    return ("evals.evalrun", str(run.code), f"eval run of attachment {run.attachment_code}")


def _locked_run(attachment_code: uuid.UUID) -> EvalRun:
    """The attachment's run, created if needed, locked for the rest of the transaction.

    get_or_create absorbs the race of two workers creating it at once (the unique attachment
    code makes one of them fetch the other's row). The attachment's row is locked first, as its
    destruction locks it: a parse that ends after the file was destroyed stores nothing
    (AttachmentDestroyed), and one that ends before has its results deleted with the file."""
    attachment = attachment_model().objects.select_for_update().filter(code=attachment_code)
    if any(destroyed_at is not None for destroyed_at in attachment.values_list("destroyed_at", flat=True)):
        raise AttachmentDestroyed(f"attachment {attachment_code} was destroyed")
    run, _ = EvalRun.objects.get_or_create(attachment_code=attachment_code)
    return EvalRun.objects.select_for_update().get(pk=run.pk)


def eval_run_mark_pending(*, attachment_code: uuid.UUID) -> EvalRun:
    """Note that the attachment's log waits to be read (its results, if any, stay until then).
    Not audited: the upload that calls for it is."""
    with transaction.atomic():
        run = _locked_run(attachment_code)
        run.parse_status = EvalRun.ParseStatus.PENDING
        run.parse_error = ""
        run.full_clean()
        run.save(update_fields=["parse_status", "parse_error"])
    return run


def eval_run_from_parsed(*, attachment_code: uuid.UUID, parsed: ParsedEvalLog, actor: Any = None) -> EvalRun:
    """Store the parsed log as the attachment's run, replacing whatever an earlier parse of the
    same attachment stored: one run per attachment, its scores and usage rebuilt, all in one
    transaction with its audit event. `actor` is None when the worker does it."""
    with transaction.atomic():
        run = _locked_run(attachment_code)
        run.parse_status = EvalRun.ParseStatus.PARSED
        run.parse_error = ""
        run.parsed_at = timezone.now()
        run.log_format = parsed.log_format
        run.status = parsed.status
        run.task = parsed.task
        run.task_version = parsed.task_version
        run.model = parsed.model
        run.eval_id = parsed.eval_id
        run.run_id = parsed.run_id
        run.created_at = parsed.created
        run.started_at = parsed.started
        run.completed_at = parsed.completed
        run.dataset_name = parsed.dataset_name or ""
        run.dataset_samples = parsed.dataset_samples
        run.epochs = parsed.epochs
        run.total_samples = parsed.total_samples
        run.completed_samples = parsed.completed_samples
        run.error_message = parsed.error_message or ""
        run.temperature, run.max_tokens, run.seed = parsed.temperature, parsed.max_tokens, parsed.seed
        run.solver, run.scorer_names = parsed.solver, list(parsed.scorer_names)
        run.full_clean(validate_unique=False)
        run.save()

        run.scores.all().delete()
        run.model_usage.all().delete()
        scores = [
            EvalScore(
                run=run,
                scorer_name=score.scorer_name,
                scorer=score.scorer,
                reducer=score.reducer or "",
                metric=score.metric,
                value=score.value,
                stderr=score.stderr,
            )
            for score in parsed.scores
        ]
        usage = [
            EvalModelUsage(
                run=run,
                model=item.model,
                input_tokens=item.input_tokens,
                output_tokens=item.output_tokens,
                total_tokens=item.total_tokens,
                input_tokens_cache_write=item.input_tokens_cache_write,
                input_tokens_cache_read=item.input_tokens_cache_read,
                reasoning_tokens=item.reasoning_tokens,
                total_cost=item.total_cost,
            )
            for item in parsed.model_usage
        ]
        # The parser already refused duplicates; uniqueness is left to the database constraints
        # rather than a query per row.
        for row in (*scores, *usage):
            row.full_clean(exclude=["run"], validate_unique=False, validate_constraints=False)
        EvalScore.objects.bulk_create(scores)
        EvalModelUsage.objects.bulk_create(usage)
        run.samples.all().delete()
        samples = (
            EvalSample(run=run, sample_id=sample.sample_id, epoch=sample.epoch, scorer=score.scorer, value=score.value)
            for sample in parsed.samples
            for score in sample.scores
        )
        sample_rows = 0
        for batch in iter(lambda: list(itertools.islice(samples, SAMPLE_BATCH)), []):
            EvalSample.objects.bulk_create(batch)
            sample_rows += len(batch)
        record(
            Action.EVAL_LOG_PARSED,
            actor=actor,
            target=_audit_target(run),
            details={
                "attachment": str(attachment_code),
                "status": run.status,
                "scores": len(scores),
                "models": len(usage),
                "samples": len(parsed.samples),
                "sample_scores": sample_rows,
            },
        )
    return run


def eval_run_mark_failed(*, attachment_code: uuid.UUID, reason: str, actor: Any = None) -> EvalRun:
    """Record that the attachment's log could not be read, and why; earlier results go."""
    reason = reason[:500] or "the log could not be read"
    with transaction.atomic():
        run = _locked_run(attachment_code)
        for field, value in RESULT_DEFAULTS.items():
            setattr(run, field, value)
        run.parse_status = EvalRun.ParseStatus.FAILED
        run.parse_error = reason
        run.parsed_at = timezone.now()
        run.full_clean(validate_unique=False)
        run.save()
        run.scores.all().delete()
        run.model_usage.all().delete()
        run.samples.all().delete()
        record(
            Action.EVAL_LOG_REJECTED,
            actor=actor,
            target=_audit_target(run),
            details={"attachment": str(attachment_code), "reason": reason},
        )
    return run


def eval_runs_forget(*, attachment_code: uuid.UUID) -> dict[str, int]:
    """Delete every result read from the attachment's log: its run, scores and model usage.

    For a destroyed attachment (vault's `attachment_destroyed`, in the destroying transaction):
    the task and model names, scores and token counts came from the log's plaintext, so they go
    with it. Returns the counts the destruction's audit event records.
    """
    # The scores and usage cascade with their run, and are counted with it.
    _, deleted = EvalRun.objects.filter(attachment_code=attachment_code).delete()
    return {
        "eval_runs": deleted.get(EvalRun._meta.label, 0),
        "eval_scores": deleted.get(EvalScore._meta.label, 0),
        "eval_model_usage": deleted.get(EvalModelUsage._meta.label, 0),
        "eval_samples": deleted.get(EvalSample._meta.label, 0),
    }
