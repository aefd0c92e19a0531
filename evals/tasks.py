"""Worker side of eval-log ingestion: read an attachment's log, store its results.

The task reads the attachment through one small interface of the vault:

    vault.attachments.open_plaintext(attachment_code: uuid.UUID)
        -> a context manager yielding a binary stream (read(n) -> bytes) of the decrypted log,
           seekable or not; raises ObjectDoesNotExist when the attachment is gone.

The plaintext exists only as that stream and the parser's bounded buffers: nothing is written
to disk, logged, or stored but the fields the parser picks.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from outbox.reconcile import Work, register
from vault import attachments

from . import services
from .errors import EvalLogError, EvalLogLimits
from .models import EvalRun
from .parser import parse_eval_log as parse_log

logger = logging.getLogger(__name__)

SOFT_TIME_LIMIT = 120
TIME_LIMIT = 150
MAX_RETRIES = 3


# The name Celery derived from this module's path before it was written out: queued outbox
# rows name it, so it stays whatever the module is called.
@shared_task(
    name="evals.tasks.parse_eval_log",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def parse_eval_log(self, attachment_code: str) -> str:
    """Parse the attachment's Inspect log into its EvalRun; returns what happened.

    Idempotent (a run per attachment, replaced on every parse), so a redelivery after a lost
    worker only does the work again. A log that cannot be read marks the run failed with the
    reason; the task itself never fails on a bad log. Only trouble reaching the attachment or
    the database is retried, with backoff.
    """
    try:
        code = uuid.UUID(str(attachment_code))
    except ValueError:
        logger.warning("parse_eval_log called without an attachment code")
        return "invalid"
    try:
        with attachments.open_plaintext(code) as stream:
            parsed = parse_log(stream, limits=EvalLogLimits.from_settings(), samples=True)
        services.eval_run_from_parsed(attachment_code=code, parsed=parsed)
    except EvalLogError as exc:
        services.eval_run_mark_failed(attachment_code=code, reason=exc.reason)
        return "failed"
    except (ObjectDoesNotExist, attachments.AttachmentDestroyed):
        # Gone or crypto-shredded before its turn came (or while it was read): nothing to read,
        # nothing to keep.
        logger.info("eval log %s: the attachment no longer exists", code)
        return "missing"
    except SoftTimeLimitExceeded:
        services.eval_run_mark_failed(
            attachment_code=code, reason=f"reading the log took longer than {SOFT_TIME_LIMIT} seconds"
        )
        return "failed"
    except ValidationError as exc:
        # The parser promises storable values; should one slip through, say so on the run
        # rather than leave it pending. Field names only: the values come from the log.
        logger.error("eval log %s: parsed values refused (%s)", code, sorted(getattr(exc, "error_dict", {})))
        services.eval_run_mark_failed(attachment_code=code, reason="the log's results could not be stored")
        return "failed"
    except Exception as exc:
        # Storage, decryption or the database: perhaps passing trouble, so try again later, and
        # after the last try say so on the run. Only the type is logged (no plaintext).
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from None
        logger.warning("eval log %s: giving up after %s (%s)", code, type(exc).__name__, self.request.retries)
        services.eval_run_mark_failed(attachment_code=code, reason="the attachment could not be read")
        return "failed"
    return "parsed"


def register_work() -> None:
    """Tell the reaper about logs waiting to be read (outbox.reconcile): a run stays pending
    from the clean scan that asked for it (recorded_at) until a parse marks it read or failed."""

    register(
        Work(
            kind="parse",
            task=parse_eval_log.name,
            pending=lambda: EvalRun.objects.filter(
                parse_status=EvalRun.ParseStatus.PENDING, attachment_code__isnull=False
            ),
            since="recorded_at",
            args=lambda run: [str(run.attachment_code)],
            default_deadline=timedelta(minutes=15),
        )
    )
