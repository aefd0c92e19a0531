"""Demo sharing for seed_demo: a live UK-US agreement, Canada with none, and approved releases.

Everything goes through the services, so the demo's audit trail reads like real use. Calling it
again changes nothing (the agreement is found by reference, live releases are skipped).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from accounts.models import Country, Organisation, Tier
from accounts.roles import Role, grant_role
from sharing import scope
from sharing.models import Document, Release, RiskDomain, SharingAgreement
from sharing.services.agreements import agreement_create, agreement_sign
from sharing.services.releases import release_approve, release_request

REFERENCE = "UK-US-MOU-2026-01"


@dataclass
class DemoSharing:
    agreement: SharingAgreement
    canada: Organisation
    releases: list[Release] = field(default_factory=list)
    not_released: dict[str, str] = field(default_factory=dict)  # document title -> why


def seed_demo_agreements(
    *,
    portal_admin,
    uk: Organisation,
    us: Organisation,
    uk_signatory,
    us_signatory,
    uk_release_officer,
    documents: Iterable[Document],
    canada: Organisation | None = None,
) -> DemoSharing:
    """Make the demo's sharing world. `documents` are candidates: UK documents the agreement can
    carry (published, releasable to the US, within ceiling and topics) are requested by their
    author and approved by `uk_release_officer`; the rest are listed with the reason."""
    if canada is None:
        canada, _ = Organisation.objects.get_or_create(
            short_name="canaisi",
            defaults={"name": "Canadian AI Safety Institute", "country": Country.objects.get(code="CAN")},
        )
    agreement = SharingAgreement.objects.filter(reference=REFERENCE).first()
    if agreement is None:
        now = timezone.now()
        agreement = agreement_create(
            actor=portal_admin,
            reference=REFERENCE,
            title="Memorandum of Understanding on sharing AI safety evaluation findings",
            parties=[uk, us],
            effective_from=now - timedelta(days=30),
            expires_at=now + timedelta(days=335),
            tier_ceiling=Tier.objects.get(code="official-sensitive"),
            risk_domains=RiskDomain.objects.exclude(code="cbrn"),
        )
    for org, signer in ((uk, uk_signatory), (us, us_signatory)):
        if agreement.party_rows.filter(organisation=org, signed_at__isnull=True).exists():
            grant_role(signer, Role.SIGNATORY, org)
            agreement = agreement_sign(actor=signer, agreement=agreement, organisation=org)
    grant_role(uk_release_officer, Role.RELEASE_OFFICER, uk)
    result = DemoSharing(agreement=agreement, canada=canada)
    parties = scope.party_ids(agreement)
    for document in documents:
        reason = _why_not(document, agreement, us, parties)
        if reason:
            result.not_released[document.title] = reason
            continue
        live = Release.objects.filter(document=document, agreement=agreement, recipient=us).exclude(
            status__in=[Release.Status.REFUSED, Release.Status.REVOKED, Release.Status.EXPIRED]
        )
        if live.exists():
            result.releases.extend(live)
            continue
        grant_role(document.author, Role.AUTHOR, uk)
        [release] = release_request(
            actor=document.author,
            document=document,
            agreement=agreement,
            recipients=[us],
            justification="Shared for the joint pre-deployment evaluation.",
        )
        result.releases.append(release_approve(actor=uk_release_officer, release=release, reason="Within the MoU."))
    return result


def _why_not(document: Document, agreement: SharingAgreement, us: Organisation, parties: set[int]) -> str | None:
    if document.status != Document.Status.PUBLISHED:
        return f"document {document.status}"
    if not document.releasable_to.filter(pk=us.country_id).exists():
        return "not releasable to the US"
    refusal = scope.scope_refusal(agreement, document, parties)
    return refusal.sentence if refusal else None
