"""Periodic work on the audit trail (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import sequencer
from .services import checkpoint_create, verification_record
from .verify import default_workers, verify_chain


@shared_task(name="audit.make_checkpoint", time_limit=300, soft_time_limit=240, ignore_result=True)
def make_checkpoint() -> int | None:
    """Sign the current head. Idempotent: with nothing new since the last one, signs nothing."""
    checkpoint = checkpoint_create()
    return checkpoint.seq if checkpoint else None


@shared_task(name="audit.verify_chain", time_limit=3600, soft_time_limit=3500, ignore_result=True)
def verify(incremental: bool = False) -> bool:
    """Recompute the chain (from the last verified checkpoint when `incremental`) and keep the
    result for the audit viewer."""
    started = timezone.now()
    result = verify_chain(workers=default_workers(), incremental=incremental)
    verification_record(result=result, started_at=started, trigger="task-incremental" if incremental else "task")
    return result.ok


@shared_task(name="audit.sequence", time_limit=120, soft_time_limit=100, ignore_result=True)
def sequence(seconds: float | None = None) -> int:
    """The sequencer as a task: seal batches for up to `seconds` (beat starts it again just as
    it ends), signing a checkpoint per batch. Idempotent: a second one running at the same time
    waits for the chain head and never forks the chain."""
    seconds = settings.ACCORD_AUDIT_SEQUENCER_TASK_SECONDS if seconds is None else seconds
    return sequencer.run(deadline=time.monotonic() + seconds)
