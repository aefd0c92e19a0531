"""Celery adapters for attachment work: ids in, services called, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import Exists, OuterRef

from outbox.reconcile import Work, register

from . import keys, scan
from .models import OrganisationKey
from .registry import attachment_model


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


def _scans_pending():
    Attachment = attachment_model()
    return Attachment.objects.filter(scan_status=Attachment.ScanStatus.PENDING, destroyed_at=None)


def _keys_with_deks_to_move():
    # An organisation's newest key, while any live data key is still wrapped by an older one;
    # due since that key was made.
    behind = attachment_model().objects.filter(
        organisation=OuterRef("organisation"), wrapped_dek__isnull=False, kek_version__lt=OuterRef("version")
    )
    return OrganisationKey.objects.filter(retired_at=None).filter(Exists(behind))


def register_work() -> None:
    """Tell the reaper what of the vault's work is unfinished (outbox.reconcile)."""
    register(
        Work(
            kind="scan",
            task=scan_attachment.name,
            pending=_scans_pending,
            since="uploaded_at",
            args=lambda attachment: [str(attachment.code)],
            default_deadline=timedelta(minutes=40),
        )
    )
    register(
        Work(
            kind="rewrap",
            task=rewrap_organisation_deks.name,
            pending=_keys_with_deks_to_move,
            since="created_at",
            args=lambda key: [key.organisation_id],
            default_deadline=timedelta(minutes=70),
        )
    )
