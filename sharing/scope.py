"""What an agreement and a release cover, as SQL conditions and as plain checks.

The access policy has two faces: one document in Python (the checks here, used by `can_read`)
and many in one query (the SQL condition in `readable.py`, which states the same rules and is
held to them by the property test on both engines). Every condition takes `now` from the
caller, so a rule ends at the second its date passes, without waiting for a job.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from .models import AgreementParty, Document, Release, SharingAgreement


def agreement_live_q(now: datetime, prefix: str = "") -> Q:
    """An agreement in force at `now`: active, and `now` within its dates."""
    return Q(
        **{
            f"{prefix}status": SharingAgreement.Status.ACTIVE,
            f"{prefix}effective_from__lte": now,
            f"{prefix}expires_at__gt": now,
        }
    )


def release_live_q(now: datetime) -> Q:
    """A release that grants at `now`: approved, not revoked, not past its own expiry, under a live agreement."""
    return (
        Q(status=Release.Status.APPROVED, revoked_at__isnull=True)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        & agreement_live_q(now, "agreement__")
    )


def agreement_refusal(agreement: SharingAgreement, now: datetime) -> str | None:
    """Why `agreement` is not in force at `now`, or None."""
    if agreement.status != SharingAgreement.Status.ACTIVE:
        return f"agreement {agreement.status}"
    if now < agreement.effective_from:
        return "agreement not yet in effect"
    if now >= agreement.expires_at:
        return "agreement past its expiry date"
    return None


def scope_refusal(agreement: SharingAgreement, document: Document, parties: set[int]) -> str | None:
    """Why `agreement` does not cover `document` (tier, topics, originator a party), or None."""
    if document.originator_id not in parties:
        return "originator not a party to the agreement"
    if document.tier.rank > agreement.tier_ceiling.rank:
        return "tier above the agreement's ceiling"
    topics = {rd.pk for rd in agreement.risk_domains.all()}
    if any(rd.pk not in topics for rd in document.risk_domains.all()):
        return "risk domain outside the agreement's topics"
    return None


def party_ids(agreement: SharingAgreement) -> set[int]:
    return set(AgreementParty.objects.filter(agreement=agreement).values_list("organisation_id", flat=True))


def release_refusal(release: Release, document: Document, user, now: datetime) -> str | None:
    """Why `release` does not let `user` read `document` at `now`, or None (it does)."""
    if release.status != Release.Status.APPROVED:
        return f"release {release.status}"
    if release.revoked_at is not None:
        return "release revoked"
    if release.expires_at is not None and release.expires_at <= now:
        return "release past its expiry date"
    audience = {u.pk for u in release.audience.all()}
    if audience and user.pk not in audience:
        return "not in the release's audience"
    agreement = release.agreement
    reason = agreement_refusal(agreement, now)
    if reason:
        return reason
    parties = party_ids(agreement)
    if release.recipient_id not in parties:
        return "recipient not a party to the agreement"
    return scope_refusal(agreement, document, parties)
