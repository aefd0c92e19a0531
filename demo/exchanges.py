"""Demo personnel exchange: a US analyst seconded to the UK institute for six months.

Under its own UK-US agreement that allows exchanges (and keeps partner material from seconded
staff, the default), proposed by the US admin and approved by both sides' admins through the
services. Acting for the UK, she has written a UK finding (originator: the UK institute), which
the UK admin sees on the secondment's hand-over list. Calling it again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.affiliations import HostAffiliation, present_as_host_member
from accounts.models import Country, Organisation, Tier, User
from exchanges.models import Secondment
from exchanges.services import secondment_approve, secondment_propose
from sharing.models import Document, RiskDomain, SharingAgreement
from sharing.services.agreements import agreement_create, agreement_sign
from sharing.services.documents import document_create

REFERENCE = "UK-US-EXCHANGE-2026-01"
FINDING_TITLE = "Cyber range transfer: US elicitation methods on the UK range"


def seed_secondment(*, portal_admin: User, uk: Organisation, us: Organisation, uk_admin: User, us_admin: User, secondee: User) -> Secondment:  # fmt: skip
    now = timezone.now()
    agreement = SharingAgreement.objects.filter(reference=REFERENCE).first()
    if agreement is None:
        agreement = agreement_create(
            actor=portal_admin,
            reference=REFERENCE,
            title="Arrangement on personnel exchanges between the UK and US institutes",
            parties=[uk, us],
            effective_from=now - timedelta(days=30),
            expires_at=now + timedelta(days=335),
            tier_ceiling=Tier.objects.get(code="official-sensitive"),
            risk_domains=RiskDomain.objects.exclude(code="cbrn"),
            personnel_exchanges=True,
        )
    for org, signer in ((uk, uk_admin), (us, us_admin)):
        if agreement.party_rows.filter(organisation=org, signed_at__isnull=True).exists():
            agreement = agreement_sign(actor=signer, agreement=agreement, organisation=org)
    secondment = Secondment.objects.filter(person=secondee, host=uk).exclude(status=Secondment.Status.ENDED).first()
    if secondment is None:
        starts = now - timedelta(days=7)
        secondment = secondment_propose(
            actor=us_admin,
            person=secondee,
            home=us,
            host=uk,
            agreement=agreement,
            starts_at=starts,
            ends_at=starts + timedelta(days=182),
            role=Secondment.Role.ANALYST,
            clearance=Tier.objects.get(code="official-sensitive"),
            purpose="Six months with the UK cyber evaluations team on the joint cyber range.",
        )
    if secondment.status == Secondment.Status.PROPOSED:
        for admin in (us_admin, uk_admin):
            secondment = secondment_approve(actor=admin, secondment=secondment)
    _write_at_the_host(secondee, secondment)
    return secondment


def _write_at_the_host(secondee: User, secondment: Secondment) -> None:
    """Her UK finding, written while acting for the UK: the UK institute is its originator."""
    if Document.objects.filter(title=FINDING_TITLE, author=secondee).exists():
        return
    at_host = User.objects.get(pk=secondee.pk)
    present_as_host_member(
        at_host,
        HostAffiliation(
            secondment_code=str(secondment.code),
            home=secondment.home,
            host=secondment.host,
            role=secondment.role,
            clearance=secondment.clearance,
            ends_at=secondment.ends_at,
        ),
    )
    document_create(
        actor=at_host,
        title=FINDING_TITLE,
        summary="How the US elicitation scaffold changes success rates on the UK cyber range.",
        body="Draft written during the secondment; it belongs to the UK institute.",
        tier=Tier.objects.get(code="official-sensitive"),
        releasable_to=[Country.objects.get(code="USA")],
        risk_domains=RiskDomain.objects.filter(code="cyber-offence"),
    )
