"""Celery adapters for attachment work: ids in, services called, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import keys, scan


# The names are the ones Celery derived when these tasks lived in sharing/tasks.py: outbox rows
# queued before the move store them, and must still find their task.
@shared_task(
    name="sharing.tasks.scan_attachment",
    autoretry_for=(scan.ScannerUnavailable,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=10,
    soft_time_limit=1500,
    time_limit=1800,
)
def scan_attachment(attachment_code: str) -> None:
    scan.attachment_scan(code=attachment_code)


@shared_task(
    name="sharing.tasks.rewrap_organisation_deks",
    soft_time_limit=3000,
    time_limit=3600,
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=5,
)
def rewrap_organisation_deks(org_id: int) -> None:
    keys.rewrap_organisation(org_id)
