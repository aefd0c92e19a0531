"""What an agreement and a release cover, as plain checks on one release or agreement.

The access policy has two faces: one document in Python (the checks here, used by `can_read`)
and many in one query (the SQL condition in `readable.py`, which states the same rules and is
held to them by the property test on both engines). There is no third, ORM form: a question
about one document's releases loads them and asks these checks. Every check takes `now` from
the caller, so a rule ends at the second its date passes, without waiting for a job.
"""

from __future__ import annotations

from datetime import datetime

from audit.reasons import Reason, Refusal

from .models import AgreementParty, Document, DocumentRevision, Release, SharingAgreement

# Why an agreement that is not active covers nothing.
_NOT_ACTIVE = {
    SharingAgreement.Status.DRAFT: Reason.AGREEMENT_DRAFT,
    SharingAgreement.Status.SUSPENDED: Reason.AGREEMENT_SUSPENDED,
    SharingAgreement.Status.TERMINATED: Reason.AGREEMENT_TERMINATED,
    SharingAgreement.Status.EXPIRED: Reason.AGREEMENT_EXPIRED,
}
# Why a release that is not approved grants nothing.
_NOT_APPROVED = {
    Release.Status.REQUESTED: Reason.RELEASE_REQUESTED,
    Release.Status.REFUSED: Reason.RELEASE_REFUSED,
    Release.Status.REVOKED: Reason.RELEASE_REVOKED,
    Release.Status.EXPIRED: Reason.RELEASE_EXPIRED,
    Release.Status.SUSPENDED: Reason.RELEASE_SUSPENDED,
}


def agreement_refusal(agreement: SharingAgreement, now: datetime) -> Refusal | None:
    """Why `agreement` is not in force at `now`, or None."""
    if agreement.status != SharingAgreement.Status.ACTIVE:
        return Refusal(_NOT_ACTIVE[agreement.status])
    if now < agreement.effective_from:
        return Refusal(Reason.AGREEMENT_NOT_YET_IN_EFFECT)
    if now >= agreement.expires_at:
        return Refusal(Reason.AGREEMENT_PAST_EXPIRY)
    return None


def scope_refusal(agreement: SharingAgreement, document: Document, parties: set[int]) -> Refusal | None:
    """Why `agreement` does not cover `document` (tier, topics, originator a party), or None."""
    if document.originator_id not in parties:
        return Refusal(Reason.ORIGINATOR_NOT_A_PARTY)
    if document.tier.rank > agreement.tier_ceiling.rank:
        return Refusal(Reason.TIER_ABOVE_CEILING)
    topics = {rd.pk for rd in agreement.risk_domains.all()}
    if any(rd.pk not in topics for rd in document.risk_domains.all()):
        return Refusal(Reason.RISK_DOMAIN_OUTSIDE_TOPICS)
    return None


def releasability_refusal(marked: Document | DocumentRevision, organisation) -> Refusal | None:
    """Why a document (or a revision, by its marking) may not go to `organisation`: its country
    is neither the originator's (always releasable) nor in releasable_to. Binds the request, the
    approval and every partner read, so a partner admin's say-so about a member's nationality
    never widens what the originator allowed."""
    country = organisation.country_id
    originator = (marked if isinstance(marked, Document) else marked.document).originator
    if country == originator.country_id or marked.releasable_to.filter(pk=country).exists():
        return None
    return Reason.COUNTRY_NOT_RELEASABLE.because(country=country)


def party_ids(agreement: SharingAgreement) -> set[int]:
    return set(AgreementParty.objects.filter(agreement=agreement).values_list("organisation_id", flat=True))


def release_lapse(release: Release, now: datetime) -> Refusal | None:
    """Why `release` grants nothing at `now`, whoever asks (not approved, revoked, expired), or None."""
    if release.status != Release.Status.APPROVED:
        return Refusal(_NOT_APPROVED[release.status])
    if release.revoked_at is not None:
        return Refusal(Reason.RELEASE_REVOKED)
    if release.expires_at is not None and release.expires_at <= now:
        return Refusal(Reason.RELEASE_PAST_EXPIRY)
    return None


def release_refusal(release: Release, document: Document, user, now: datetime) -> Refusal | None:
    """Why `release` does not let `user` read `document` at `now`, or None (it does)."""
    reason = release_lapse(release, now)
    if reason:
        return reason
    audience = {u.pk for u in release.audience.all()}
    if audience and user.pk not in audience:
        return Refusal(Reason.NOT_IN_AUDIENCE)
    agreement = release.agreement
    reason = agreement_refusal(agreement, now)
    if reason:
        return reason
    parties = party_ids(agreement)
    if release.recipient_id not in parties:
        return Refusal(Reason.RECIPIENT_NOT_A_PARTY)
    return scope_refusal(agreement, document, parties)
