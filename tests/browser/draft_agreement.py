"""Run by the browser harness through `manage.py shell` after `seed_demo`: a portal admin drafts
the UK–US agreement the journeys sign in the browser. Idempotent."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Organisation, Tier, User
from sharing.models import RiskDomain, SharingAgreement
from sharing.services.agreements import agreement_create

REFERENCE = "UK-US-JOINT-EVAL"

if not SharingAgreement.objects.filter(reference=REFERENCE).exists():
    now = timezone.now()
    agreement_create(
        actor=User.objects.get(email="admin@accord.example"),
        reference=REFERENCE,
        title="UK–US joint pre-deployment evaluation exchange",
        parties=Organisation.objects.filter(short_name__in=["ukasi", "caisi"]),
        effective_from=now - timedelta(days=1),
        expires_at=now + timedelta(days=365),
        tier_ceiling=Tier.objects.get(code="official-sensitive"),
        risk_domains=RiskDomain.objects.all(),
    )
