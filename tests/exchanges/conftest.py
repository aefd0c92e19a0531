from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exchanges.models import Secondment
from tests.factories import AgreementFactory, PersonFactory, tier

DAY = timedelta(days=1)


@pytest.fixture
def exchange_agreement(ukasi, usaisi):
    """The UK-US agreement that allows personnel exchanges (seconded staff may not read partner material)."""
    return AgreementFactory(parties=[ukasi, usaisi], reference="UK-US-EX", ceiling="secret", personnel_exchanges=True)


@pytest.fixture
def sid(usaisi):
    """Sid Secondee: a US analyst (author at home) cleared to OFFICIAL-SENSITIVE by the US."""
    return PersonFactory(
        email="sid@caisi.example", display_name="Sid Secondee", organisation=usaisi, roles=["author"],
        clearance="official-sensitive",
    )  # fmt: skip


@pytest.fixture
def secondment(sid, ukasi, usaisi, exchange_agreement, ursula):
    """Sid seconded to the UK as an analyst for six months, cleared SECRET by the host, approved by both."""
    now = timezone.now()
    return Secondment.objects.create(
        person=sid, home=usaisi, host=ukasi, agreement=exchange_agreement, starts_at=now - DAY,
        ends_at=now + 180 * DAY, role="analyst", clearance=tier("secret"), purpose="Joint cyber evaluations",
        status=Secondment.Status.APPROVED, proposed_by=ursula, home_approved_by=ursula, home_approved_at=now,
        host_approved_at=now,
    )  # fmt: skip
