from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Tier
from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import DocumentGroupObjectPermission, Release, RiskDomain, SharingAgreement
from sharing.policy import can_read
from sharing.services.agreements import (
    agreement_create,
    agreement_expire,
    agreement_resume,
    agreement_sign,
    agreement_suspend,
    agreement_terminate,
)
from tests.factories import PersonFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def draft(actor, parties=None, **overrides):
    now = timezone.now()
    fields = {
        "reference": "MOU-2026-01",
        "title": "UK-US evaluation sharing",
        "parties": parties or [],
        "effective_from": now - timedelta(hours=1),
        "expires_at": now + timedelta(days=365),
        "tier_ceiling": Tier.objects.get(code="official-sensitive"),
        "risk_domains": RiskDomain.objects.filter(code__in=["cyber-offence", "autonomy"]),
    }
    return agreement_create(actor=actor, **{**fields, **overrides})


def signatory(org):
    user = PersonFactory(organisation=org, roles=["signatory"])
    return user


def denials(action):
    return AuditEvent.objects.filter(action=action, outcome="denied")


def test_portal_admin_drafts_an_agreement(portal_admin, ukasi, usaisi):
    agreement = draft(portal_admin, [ukasi, usaisi])
    assert agreement.status == SharingAgreement.Status.DRAFT
    assert set(agreement.parties.all()) == {ukasi, usaisi}
    event = AuditEvent.objects.get(action=Action.AGREEMENT_CREATED, outcome="allowed")
    assert event.details["parties"] == ["caisi", "ukasi"]


def test_only_a_portal_admin_may_draft(alice, ukasi, usaisi):
    with pytest.raises(PermissionDenied):
        draft(alice, [ukasi, usaisi])
    assert not SharingAgreement.objects.exists()
    assert denials(Action.AGREEMENT_CREATED).count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"parties": "one"},
        {"expires_at": timezone.now() - timedelta(days=1)},
        {"risk_domains": []},
        {"reference": ""},
    ],
)
def test_a_malformed_draft_is_refused_and_audited(portal_admin, ukasi, usaisi, overrides):
    if overrides.get("parties") == "one":
        overrides = {"parties": [ukasi, ukasi]}
    with pytest.raises(ValidationError):
        draft(portal_admin, **{"parties": [ukasi, usaisi], **overrides})
    assert not SharingAgreement.objects.exists()
    assert denials(Action.AGREEMENT_CREATED).count() == 1


def test_active_only_once_every_party_has_signed(portal_admin, ukasi, usaisi):
    agreement = draft(portal_admin, [ukasi, usaisi])
    agreement_sign(actor=signatory(ukasi), agreement=agreement, organisation=ukasi)
    assert agreement.status == SharingAgreement.Status.DRAFT
    agreement_sign(actor=signatory(usaisi), agreement=agreement, organisation=usaisi)
    assert agreement.status == SharingAgreement.Status.ACTIVE
    assert agreement.activated_at is not None
    assert AuditEvent.objects.filter(action=Action.AGREEMENT_SIGNED).count() == 2
    assert AuditEvent.objects.filter(action=Action.AGREEMENT_ACTIVATED).count() == 1


def test_signing_needs_the_signatory_role_on_that_party(portal_admin, ukasi, usaisi, alice):
    agreement = draft(portal_admin, [ukasi, usaisi])
    with pytest.raises(PermissionDenied):
        agreement_sign(actor=alice, agreement=agreement, organisation=ukasi)
    # A UK signatory cannot sign for the US.
    with pytest.raises(PermissionDenied):
        agreement_sign(actor=signatory(ukasi), agreement=agreement, organisation=usaisi)
    assert denials(Action.AGREEMENT_SIGNED).count() == 2
    assert agreement.party_rows.filter(signed_at__isnull=False).count() == 0


def test_signing_twice_or_for_an_outsider_is_refused(portal_admin, ukasi, usaisi, canada):
    agreement = draft(portal_admin, [ukasi, usaisi])
    uk_signer = signatory(ukasi)
    agreement_sign(actor=uk_signer, agreement=agreement, organisation=ukasi)
    with pytest.raises(ValidationError, match="already signed"):
        agreement_sign(actor=uk_signer, agreement=agreement, organisation=ukasi)
    with pytest.raises(ValidationError, match="not a party"):
        agreement_sign(actor=signatory(canada), agreement=agreement, organisation=canada)
    assert denials(Action.AGREEMENT_SIGNED).count() == 2


def test_suspend_and_resume_switch_access_off_and_on(portal_admin, uk_us_agreement, finding, bob, alice, usaisi):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    assert can_read(bob, finding)
    agreement_suspend(actor=portal_admin, agreement=uk_us_agreement, reason="review")
    assert can_read(bob, finding).reason == Reason.AGREEMENT_SUSPENDED
    # Grants are kept while suspended, so resuming restores access with no re-approval.
    assert DocumentGroupObjectPermission.objects.filter(content_object=finding).exists()
    agreement_resume(actor=portal_admin, agreement=uk_us_agreement)
    assert can_read(bob, finding)
    actions = list(AuditEvent.objects.filter(target_id=str(uk_us_agreement.code)).values_list("action", flat=True))
    assert actions == [Action.AGREEMENT_SUSPENDED, Action.AGREEMENT_RESUMED]


def test_only_a_portal_admin_may_suspend(uk_us_agreement, olivia):
    with pytest.raises(PermissionDenied):
        agreement_suspend(actor=olivia, agreement=uk_us_agreement, reason="no")
    uk_us_agreement.refresh_from_db()
    assert uk_us_agreement.status == SharingAgreement.Status.ACTIVE
    assert denials(Action.AGREEMENT_SUSPENDED).count() == 1


def test_terminate_ends_releases_and_removes_grants(portal_admin, uk_us_agreement, finding, bob, alice, usaisi):
    release = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    agreement_terminate(actor=portal_admin, agreement=uk_us_agreement, reason="ended")
    release.refresh_from_db()
    assert release.status == Release.Status.EXPIRED
    assert not DocumentGroupObjectPermission.objects.filter(content_object=finding).exists()
    assert not can_read(bob, finding)
    with pytest.raises(ValidationError):
        agreement_resume(actor=portal_admin, agreement=uk_us_agreement)
    assert denials(Action.AGREEMENT_RESUMED).count() == 1


def test_access_ends_at_the_expiry_date_before_any_job_runs(uk_us_agreement, finding, bob, alice, usaisi):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    assert can_read(bob, finding)
    SharingAgreement.objects.filter(pk=uk_us_agreement.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert can_read(bob, finding).reason == Reason.AGREEMENT_PAST_EXPIRY
    uk_us_agreement.refresh_from_db()
    assert uk_us_agreement.status == SharingAgreement.Status.ACTIVE  # nothing tidied yet


def test_expire_is_idempotent(uk_us_agreement, finding, alice, usaisi):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    assert agreement_expire(agreement=uk_us_agreement) is False  # not due yet
    SharingAgreement.objects.filter(pk=uk_us_agreement.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert agreement_expire(agreement=uk_us_agreement) is True
    assert agreement_expire(agreement=uk_us_agreement) is False
    assert AuditEvent.objects.filter(action=Action.AGREEMENT_EXPIRED).count() == 1
    assert not DocumentGroupObjectPermission.objects.filter(content_object=finding).exists()


def test_resume_after_the_expiry_date_is_refused(portal_admin, uk_us_agreement):
    agreement_suspend(actor=portal_admin, agreement=uk_us_agreement, reason="review")
    SharingAgreement.objects.filter(pk=uk_us_agreement.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expiry"):
        agreement_resume(actor=portal_admin, agreement=uk_us_agreement)
