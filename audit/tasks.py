"""Periodic work on the audit trail (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .services import checkpoint_create, verification_record
from .verify import default_workers, verify_chain


@shared_task(name="audit.make_checkpoint", time_limit=300, soft_time_limit=240, ignore_result=True)
def make_checkpoint() -> int | None:
    """Sign the current head. Idempotent: with nothing new since the last one, signs nothing."""
    checkpoint = checkpoint_create()
    return checkpoint.seq if checkpoint else None


@shared_task(name="audit.verify_chain", time_limit=3600, soft_time_limit=3500, ignore_result=True)
def verify() -> bool:
    """Recompute the whole chain and keep the result for the audit viewer."""
    started = timezone.now()
    result = verify_chain(workers=default_workers())
    verification_record(result=result, started_at=started, trigger="task")
    return result.ok
