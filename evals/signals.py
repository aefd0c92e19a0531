"""What evals does when the apps below it say something happened (connected by importing this
module in EvalsConfig.ready())."""

from __future__ import annotations

from django.dispatch import receiver

from outbox.services import enqueue
from vault.signals import attachment_clean, attachment_destroyed

from .services import eval_run_mark_pending, eval_runs_forget
from .tasks import parse_eval_log

EVAL_LOG_SUFFIXES = (".eval", ".json")


def is_eval_log_candidate(attachment) -> bool:
    """Inspect logs are `.eval` zips or `.json` documents; the parser decides which really are."""
    return attachment.filename.lower().endswith(EVAL_LOG_SUFFIXES)


@receiver(attachment_clean, dispatch_uid="evals.parse_clean_log")
def _parse_clean_log(sender, attachment, **kwargs) -> None:
    # Only clean files are parsed; the run is marked pending in the same transaction as the
    # verdict, and the task is queued once that commits.
    if not is_eval_log_candidate(attachment):
        return
    eval_run_mark_pending(attachment_code=attachment.code)
    # Through the outbox: queued with the verdict, published on commit or once the broker is back.
    enqueue(parse_eval_log.name, args=[str(attachment.code)])


@receiver(attachment_destroyed, dispatch_uid="evals.forget_destroyed_log")
def _forget_destroyed_log(sender, attachment, **kwargs) -> dict[str, int]:
    # In the destroying transaction: the results go with the file, or neither goes.
    return eval_runs_forget(attachment_code=attachment.code)
