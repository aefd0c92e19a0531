"""Celery tasks of the sharing policy (loaded by SharingConfig.ready; scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from .models import Release, SharingAgreement
from .notifications import (
    notify_agreement_expiring,
    notify_release_approved,
    notify_release_suspended,
    notify_release_updated,
)

# A notice is mail: retried with backoff while the mail server is away.
NOTICE = {
    "time_limit": 120,
    "soft_time_limit": 100,
    "ignore_result": True,
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(name="sharing.tidy", time_limit=600, soft_time_limit=540, ignore_result=True)
def tidy_sharing() -> dict[str, int]:
    """Expire agreements and releases past their dates, drop stale grants, warn owners. Idempotent."""
    # housekeeping queues this module's notices, so importing it at the top would be a cycle.
    from .housekeeping import tidy

    return tidy().as_dict()


@shared_task(
    name="sharing.send_release_notice",
    **NOTICE,
)
def send_release_notice(release_id: int) -> int:
    release = Release.objects.select_related("recipient", "agreement", "document__tier").filter(pk=release_id).first()
    return notify_release_approved(release) if release else 0


@shared_task(
    name="sharing.send_release_update_notice",
    **NOTICE,
)
def send_release_update_notice(release_id: int) -> int:
    release = Release.objects.select_related("recipient", "agreement", "document__tier").filter(pk=release_id).first()
    return notify_release_updated(release) if release else 0


@shared_task(
    name="sharing.send_release_suspended_notice",
    **NOTICE,
)
def send_release_suspended_notice(release_id: int) -> int:
    release = (
        Release.objects.select_related("recipient", "agreement", "document__originator").filter(pk=release_id).first()
    )
    return notify_release_suspended(release) if release else 0


@shared_task(
    name="sharing.send_agreement_expiry_notice",
    **NOTICE,
)
def send_agreement_expiry_notice(agreement_id: int) -> int:
    agreement = SharingAgreement.objects.filter(pk=agreement_id).first()
    return notify_agreement_expiring(agreement) if agreement else 0
