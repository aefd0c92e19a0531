"""Storing parsed logs: one run per attachment, replaced (never duplicated) on every parse."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from audit.models import Action, AuditEvent
from evals.models import EvalModelUsage, EvalRun, EvalScore
from evals.parser import parse_eval_log
from evals.services import eval_run_from_parsed, eval_run_mark_failed, eval_run_mark_pending

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.django_db


def parsed(name: str):
    with open(FIXTURES / name, "rb") as fh:
        return parse_eval_log(fh, filename=name)


def test_a_parsed_log_is_stored_with_its_scores_and_usage():
    code = uuid.uuid4()
    run = eval_run_from_parsed(attachment_code=code, parsed=parsed("epochs.eval"))
    run.refresh_from_db()
    assert run.parse_status == EvalRun.ParseStatus.PARSED and run.parse_error == ""
    assert (run.task, run.model, run.status, run.log_format) == (
        "arithmetic_epochs",
        "mockllm/model",
        "success",
        "eval",
    )
    assert (run.epochs, run.total_samples, run.completed_samples, run.dataset_name) == (3, 6, 6, "arithmetic")
    assert run.created_at is not None and run.completed_at >= run.started_at
    scores = [(s.scorer_name, s.reducer, s.metric, round(s.value, 4), round(s.stderr, 4)) for s in run.scores.all()]
    assert scores == [("match", "mean", "accuracy", 0.6667, 0.3333), ("match", "max", "accuracy", 1.0, 0.0)]
    [usage] = run.model_usage.all()
    assert (usage.model, usage.input_tokens, usage.output_tokens, usage.total_tokens) == ("mockllm/model", 66, 18, 84)
    event = AuditEvent.objects.get(action=Action.EVAL_LOG_PARSED)
    assert (event.target_type, event.target_id, event.actor_label) == ("evals.evalrun", str(run.code), "system")
    # The trail outlives the attachment: it names the run by codes, never by the log's content.
    assert event.target_label == f"eval run of attachment {code}"
    assert event.details == {
        "attachment": str(code),
        "status": "success",
        "scores": 2,
        "models": 1,
        "samples": 0,
        "sample_scores": 0,
    }


def test_parsing_the_same_attachment_again_replaces_and_never_duplicates():
    code = uuid.uuid4()
    first = eval_run_from_parsed(attachment_code=code, parsed=parsed("multi_scorer.json"))
    second = eval_run_from_parsed(attachment_code=code, parsed=parsed("multi_scorer.json"))
    assert second.pk == first.pk and second.code == first.code
    assert EvalRun.objects.count() == 1
    assert EvalScore.objects.count() == 4 and EvalModelUsage.objects.count() == 1
    # A different log for the same attachment replaces the results wholesale.
    eval_run_from_parsed(attachment_code=code, parsed=parsed("error.json"))
    run = EvalRun.objects.get()
    assert (run.status, run.error_message) == ("error", "RuntimeError('fixture solver failed on purpose')")
    assert (run.total_samples, EvalScore.objects.count(), EvalModelUsage.objects.count()) == (None, 0, 0)


def test_runs_of_different_attachments_are_kept_apart():
    eval_run_from_parsed(attachment_code=uuid.uuid4(), parsed=parsed("success.eval"))
    eval_run_from_parsed(attachment_code=uuid.uuid4(), parsed=parsed("success.json"))
    assert EvalRun.objects.count() == 2 and EvalScore.objects.count() == 2


def test_a_failure_clears_earlier_results_and_says_why():
    code = uuid.uuid4()
    eval_run_from_parsed(attachment_code=code, parsed=parsed("success.eval"))
    run = eval_run_mark_failed(attachment_code=code, reason="the .eval archive is corrupt or truncated")
    run.refresh_from_db()
    assert run.parse_status == EvalRun.ParseStatus.FAILED
    assert run.parse_error == "the .eval archive is corrupt or truncated"
    assert (run.task, run.model, run.total_samples, run.created_at) == ("", "", None, None)
    assert not run.scores.exists() and not run.model_usage.exists()
    event = AuditEvent.objects.get(action=Action.EVAL_LOG_REJECTED)
    assert event.details == {"attachment": str(code), "reason": "the .eval archive is corrupt or truncated"}


def test_pending_keeps_results_until_the_next_parse():
    code = uuid.uuid4()
    eval_run_from_parsed(attachment_code=code, parsed=parsed("success.eval"))
    run = eval_run_mark_pending(attachment_code=code)
    assert run.parse_status == EvalRun.ParseStatus.PENDING and run.scores.count() == 1
    assert eval_run_mark_pending(attachment_code=uuid.uuid4()).task == ""


def test_a_store_that_fails_half_way_leaves_the_previous_results_whole(monkeypatch):
    code = uuid.uuid4()
    eval_run_from_parsed(attachment_code=code, parsed=parsed("success.eval"))

    def broken_bulk_create(*args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(EvalModelUsage.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(IntegrityError):
        eval_run_from_parsed(attachment_code=code, parsed=parsed("multi_scorer.eval"))
    run = EvalRun.objects.get()
    assert run.task == "arithmetic_success" and run.scores.count() == 1 and run.model_usage.count() == 1
    assert AuditEvent.objects.filter(action=Action.EVAL_LOG_PARSED).count() == 1


def test_the_database_refuses_a_parsed_run_without_task_and_a_failed_one_without_reason():
    with pytest.raises(IntegrityError), transaction.atomic():
        EvalRun.objects.create(parse_status=EvalRun.ParseStatus.PARSED, task="", model="m", status="success")
    with pytest.raises(IntegrityError), transaction.atomic():
        EvalRun.objects.create(parse_status=EvalRun.ParseStatus.FAILED, parse_error="")


def test_nan_and_infinite_metrics_are_stored_as_null():
    log = {
        "status": "success",
        "eval": {"task": "t", "model": "m"},
        "results": {
            "scores": [
                {"name": "s", "scorer": "s", "metrics": {"mean": {"value": "NaN"}, "stderr": {"value": "Infinity"}}},
            ]
        },
    }
    text = json.dumps(log).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity")
    result = parse_eval_log(io.BytesIO(text.encode()), filename="nan.json")
    run = eval_run_from_parsed(attachment_code=uuid.uuid4(), parsed=result)
    score = run.scores.get()
    assert (score.metric, score.value, score.stderr) == ("mean", None, None)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_parses_of_one_attachment_leave_one_run():
    """Two workers (a redelivered task) storing the same attachment at once: one run, one set."""
    import threading

    from django.db import connection

    assert connection.vendor == "postgresql", "row locks are what this checks: run it with make test-services"
    code, log = uuid.uuid4(), parsed("multi_scorer.eval")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def store():
        try:
            barrier.wait()
            eval_run_from_parsed(attachment_code=code, parsed=log)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert EvalRun.objects.filter(attachment_code=code).count() == 1
    assert EvalScore.objects.count() == 4 and EvalModelUsage.objects.count() == 1
