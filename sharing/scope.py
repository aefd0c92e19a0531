"""What an agreement and a release cover, as plain checks on one release or agreement.

The access policy has two faces: one document in Python (the checks here, used by `can_read`)
and many in one query (the SQL condition in `readable.py`, which states the same rules and is
held to them by the property test on both engines). There is no third, ORM form: a question
about one document's releases loads them and asks these checks. Every check takes `now` from
the caller, so a rule ends at the second its date passes, without waiting for a job.
"""

from __future__ import annotations

from datetime import datetime

from .models import AgreementParty, Document, Release, SharingAgreement


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


def release_lapse(release: Release, now: datetime) -> str | None:
    """Why `release` grants nothing at `now`, whoever asks (not approved, revoked, expired), or None."""
    if release.status != Release.Status.APPROVED:
        return f"release {release.status}"
    if release.revoked_at is not None:
        return "release revoked"
    if release.expires_at is not None and release.expires_at <= now:
        return "release past its expiry date"
    return None


def release_refusal(release: Release, document: Document, user, now: datetime) -> str | None:
    """Why `release` does not let `user` read `document` at `now`, or None (it does)."""
    reason = release_lapse(release, now)
    if reason:
        return reason
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
