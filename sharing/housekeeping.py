"""Tidying after time-bound rules: the policy already denies at the second a date passes; this
records it (statuses, audit events), removes guardian rows no live release supports, and warns
owners of agreements about to expire. Running it twice changes nothing more the second time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from outbox.services import enqueue

from .housekeeping_tasks import send_agreement_expiry_notice
from .models import Release, SharingAgreement
from .services.agreements import agreement_expire
from .services.releases import release_expire, sync_grants

Status = SharingAgreement.Status


@dataclass
class TidyReport:
    agreements_expired: int = 0
    releases_expired: int = 0
    grants_removed: int = 0
    expiry_notices: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def expiry_notice_window() -> timedelta:
    return timedelta(days=getattr(settings, "ACCORD_AGREEMENT_EXPIRY_NOTICE_DAYS", 30))


def tidy(now: datetime | None = None) -> TidyReport:
    """Expire what is past its date, drop unsupported grants, queue expiry notices."""
    now = now or timezone.now()
    report = TidyReport()
    ended = SharingAgreement.objects.filter(expires_at__lte=now).exclude(status__in=[Status.EXPIRED, Status.TERMINATED])
    for agreement in ended:
        report.agreements_expired += agreement_expire(agreement=agreement, now=now)
    lapsed = Release.objects.filter(status=Release.Status.APPROVED, expires_at__lte=now)
    for release in lapsed:
        report.releases_expired += release_expire(release=release, now=now)
    report.grants_removed = remove_stale_grants()
    report.expiry_notices = queue_expiry_notices(now)
    return report


def remove_stale_grants() -> int:
    """Delete view_document rows that no live release supports (a safety net: services sync too)."""
    with transaction.atomic():
        removed = sync_grants(document_ids=None)["grants_removed"]
        if removed:
            record(Action.GRANTS_TIDIED, details={"grants_removed": removed})
    return removed


def queue_expiry_notices(now: datetime) -> int:
    """Mark, then mail (after commit), each in-force agreement entering its notice window; once each."""
    due = SharingAgreement.objects.filter(
        status=Status.ACTIVE,
        expires_at__gt=now,
        expires_at__lte=now + expiry_notice_window(),
        expiry_notice_sent_at__isnull=True,
    )
    count = 0
    for agreement in due:
        with transaction.atomic():
            marked = SharingAgreement.objects.filter(pk=agreement.pk, expiry_notice_sent_at__isnull=True).update(
                expiry_notice_sent_at=now
            )
            if not marked:
                continue
            record(
                Action.AGREEMENT_EXPIRY_NOTICE,
                target=agreement,
                details={"expires_at": agreement.expires_at.isoformat()},
            )
            # Through the outbox, with the mark: once marked, the mail is recorded to go, so a
            # broker that is down at commit delays it, never loses it.
            enqueue(send_agreement_expiry_notice.name, args=[agreement.pk])
            count += 1
    return count
