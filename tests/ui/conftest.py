from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Country
from sharing.models import AgreementParty, Document, Release, SharingAgreement
from tests.factories import UserFactory, give_role, grant_clearance, tier


def make_document(author, *, title="Jailbreak transfer across model versions", tier_code="official-sensitive", **extra):
    status = extra.pop("status", Document.Status.PUBLISHED)
    releasable = extra.pop("releasable_to", None)
    document = Document.objects.create(
        title=title,
        summary=extra.pop("summary", "Short summary."),
        body=extra.pop("body", "The **body** of the finding."),
        originator=author.organisation,
        author=author,
        tier=tier(tier_code),
        status=status,
        published_at=timezone.now() if status == Document.Status.PUBLISHED else None,
        **extra,
    )
    document.releasable_to.set(releasable or [author.organisation.country])
    return document


def make_agreement(creator, *parties, status=SharingAgreement.Status.ACTIVE, ceiling="secret"):
    now = timezone.now()
    agreement = SharingAgreement.objects.create(
        reference=f"MOU-{SharingAgreement.objects.count() + 1}",
        title="Joint evaluation exchange",
        effective_from=now - timedelta(days=1),
        expires_at=now + timedelta(days=365),
        tier_ceiling=tier(ceiling),
        status=status,
        created_by=creator,
    )
    for organisation in parties:
        AgreementParty.objects.create(agreement=agreement, organisation=organisation)
    return agreement


def make_release(document, agreement, recipient, requested_by, status=Release.Status.REQUESTED):
    return Release.objects.create(
        document=document,
        agreement=agreement,
        recipient=recipient,
        requested_by=requested_by,
        status=status,
        decided_at=timezone.now() if status != Release.Status.REQUESTED else None,
    )


@pytest.fixture
def uma(ukasi):
    """A UK member with a clearance and no role at all."""
    user = UserFactory(email="uma@ukasi.example", display_name="Uma Member", organisation=ukasi)
    grant_clearance(user, "official-sensitive")
    return user


@pytest.fixture
def rory(ukasi):
    """A UK release officer cleared to SECRET."""
    user = UserFactory(email="rory@ukasi.example", display_name="Rory Releaser", organisation=ukasi)
    give_role(user, "release_officer")
    give_role(user, "signatory")
    grant_clearance(user, "secret")
    return user


@pytest.fixture
def gbr_usa():
    return [Country.objects.get(code="GBR"), Country.objects.get(code="USA")]
