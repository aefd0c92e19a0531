"""Building blocks for policy tests: documents, agreements and releases made straight in the
database (the services have their own tests), so each test states only what it varies.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from accounts.models import Compartment, Country, Organisation, ReadIn, Tier
from sharing.models import AgreementParty, Caveat, Document, Release, RiskDomain, SharingAgreement
from sharing.services.releases import sync_grants
from tests.factories import UserFactory

DAY = timedelta(days=1)


def org(short_name: str, country: str) -> Organisation:
    found = Organisation.objects.filter(short_name=short_name).first()
    return found or Organisation.objects.create(
        name=f"{short_name} institute", short_name=short_name, country=Country.objects.get(code=country)
    )


def compartment(code: str) -> Compartment:
    return Compartment.objects.get_or_create(code=code, defaults={"name": code.upper()})[0]


def document(
    *,
    originator: Organisation,
    author=None,
    tier: str = "official-sensitive",
    status: str = Document.Status.PUBLISHED,
    releasable: Iterable[str] = ("GBR", "USA"),
    compartments: Iterable[str] = (),
    caveats: Iterable[str] = (),
    risk_domains: Iterable[str] = ("cyber-offence",),
    title: str = "Finding",
) -> Document:
    author = author or UserFactory(organisation=originator)
    doc = Document.objects.create(
        title=title,
        originator=originator,
        author=author,
        tier=Tier.objects.get(code=tier),
        status=status,
        published_at=timezone.now() if status != Document.Status.DRAFT else None,
    )
    doc.releasable_to.set(Country.objects.filter(code__in=set(releasable) | {originator.country_id}))
    doc.compartments.set([compartment(code) for code in compartments])
    doc.caveats.set(Caveat.objects.filter(code__in=caveats))
    doc.risk_domains.set(RiskDomain.objects.filter(code__in=risk_domains))
    return doc


def agreement(
    *,
    parties: Iterable[Organisation],
    created_by,
    ceiling: str = "official-sensitive",
    topics: Iterable[str] = ("cyber-offence", "autonomy"),
    status: str = SharingAgreement.Status.ACTIVE,
    effective_from=None,
    expires_at=None,
    onward_sharing: bool = False,
    reference: str | None = None,
) -> SharingAgreement:
    now = timezone.now()
    effective_from = effective_from or now - 10 * DAY
    signed = status != SharingAgreement.Status.DRAFT
    ag = SharingAgreement.objects.create(
        reference=reference or f"MOU-{SharingAgreement.objects.count() + 1}-{now.timestamp()}",
        title="Agreement",
        effective_from=effective_from,
        expires_at=expires_at or now + 365 * DAY,
        tier_ceiling=Tier.objects.get(code=ceiling),
        onward_sharing=onward_sharing,
        status=status,
        created_by=created_by,
        activated_at=now if signed else None,
    )
    for party in parties:
        AgreementParty.objects.create(
            agreement=ag,
            organisation=party,
            signed_by=created_by if signed else None,
            signed_at=now if signed else None,
        )
    ag.risk_domains.set(RiskDomain.objects.filter(code__in=topics))
    return ag


def release(
    *,
    doc: Document,
    ag: SharingAgreement,
    recipient: Organisation,
    requested_by,
    status: str = Release.Status.APPROVED,
    audience: Iterable = (),
    expires_at=None,
    grant: bool = True,
) -> Release:
    now = timezone.now()
    rel = Release.objects.create(
        document=doc,
        agreement=ag,
        recipient=recipient,
        justification="test",
        status=status,
        requested_by=requested_by,
        decided_at=now if status != Release.Status.REQUESTED else None,
        expires_at=expires_at,
        revoked_at=now if status == Release.Status.REVOKED else None,
    )
    rel.audience.set(list(audience))
    if grant:
        sync_grants(document_ids=[doc.pk])
    return rel


def read_in(user, code: str, *, expires_at=None, revoked: bool = False) -> ReadIn:
    return ReadIn.objects.create(
        user=user,
        compartment=compartment(code),
        granted_at=timezone.now() - DAY,
        expires_at=expires_at,
        revoked_at=timezone.now() if revoked else None,
    )
