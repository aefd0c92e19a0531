from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import (
    DocumentGroupObjectPermission,
    DocumentUserObjectPermission,
    Release,
    SharingAgreement,
)
from sharing.policy import can_read, can_request_release, readable_documents
from sharing.services.agreements import agreement_suspend
from sharing.services.documents import document_update
from sharing.services.releases import release_approve, release_refuse, release_request, release_revoke
from tests.factories import (
    AgreementFactory,
    DocumentFactory,
    PersonFactory,
    ReleaseFactory,
    caveat,
    give_role,
    grant_clearance,
)

pytestmark = pytest.mark.django_db


def ask(actor, document, agreement, recipients, **kw):
    return release_request(
        actor=actor,
        document=document,
        agreement=agreement,
        recipients=recipients,
        justification=kw.pop("justification", "joint evaluation"),
        **kw,
    )


def refused_requests():
    return AuditEvent.objects.filter(action=Action.RELEASE_REQUESTED, outcome="denied")


def test_an_author_requests_a_release(alice, finding, uk_us_agreement, usaisi):
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    assert release.status == Release.Status.REQUESTED
    assert release.requested_by == alice
    event = AuditEvent.objects.get(action=Action.RELEASE_REQUESTED, outcome="allowed")
    assert event.details["recipient"] == "caisi"
    # A request alone grants nothing.
    assert not DocumentGroupObjectPermission.objects.exists()


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        ("suspended", Reason.AGREEMENT_SUSPENDED, "agreement suspended"),
        ("past_expiry", Reason.AGREEMENT_PAST_EXPIRY, "agreement past its expiry date"),
        ("not_yet", Reason.AGREEMENT_NOT_YET_IN_EFFECT, "agreement not yet in effect"),
        ("secret", Reason.TIER_ABOVE_CEILING, "tier above"),
        ("cbrn", Reason.RISK_DOMAIN_OUTSIDE_TOPICS, "risk domain outside"),
        ("eyes_only", Reason.COUNTRY_NOT_RELEASABLE, "not in the document's releasable-to list"),
        ("draft", Reason.DOCUMENT_NOT_PUBLISHED, "document not published"),
        ("outsider", Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT, "not a party"),
        ("no_justification", Reason.JUSTIFICATION_REQUIRED, "justification is required"),
    ],
)
def test_a_request_the_agreement_cannot_carry_is_refused_at_once(
    alice, ukasi, usaisi, canada, portal_admin, change, reason, message
):
    now = timezone.now()
    dates = {
        "past_expiry": {"expires_at": now - timedelta(seconds=1)},
        "not_yet": {"effective_from": now + timedelta(hours=1)},
    }.get(change, {})
    status = "suspended" if change == "suspended" else "active"
    ag = AgreementFactory(parties=[ukasi, usaisi], created_by=portal_admin, status=status, **dates)
    grant_clearance(alice, "secret")
    doc = DocumentFactory(
        author=alice,
        tier="secret" if change == "secret" else "official-sensitive",
        risk_domains=["cbrn"] if change == "cbrn" else ["cyber-offence"],
        status="draft" if change == "draft" else "published",
        releasable_to=["GBR"] if change == "eyes_only" else ["GBR", "USA", "CAN"],
    )
    recipient = canada if change == "outsider" else usaisi
    with pytest.raises(ValidationError, match=message):
        ask(alice, doc, ag, [recipient], justification="" if change == "no_justification" else "why")
    assert not Release.objects.exists()
    assert refused_requests().get().details["reason"] == reason


def test_a_partner_cannot_re_release_without_onward_sharing(bob, finding, uk_us_agreement, alice, usaisi, canada):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    give_role(bob, "author")
    with pytest.raises(ValidationError, match="onward sharing"):
        ask(bob, finding, uk_us_agreement, [canada])
    assert refused_requests().count() == 1


def onward_world(ukasi, usaisi, canada, portal_admin, finding, alice, bob, orcon=False):
    """UK released the finding to the US under a three-party agreement that allows onward sharing."""
    ag = AgreementFactory(parties=[ukasi, usaisi, canada], created_by=portal_admin, onward_sharing=True)
    finding.releasable_to.add("CAN")
    if orcon:
        finding.caveats.set([caveat("orcon")])
    ReleaseFactory(document=finding, agreement=ag, recipient=usaisi)
    give_role(bob, "author")
    return ag


def test_onward_sharing_lets_a_recipient_propose_a_further_release(
    ukasi, usaisi, canada, portal_admin, finding, alice, bob, rita
):
    ag = onward_world(ukasi, usaisi, canada, portal_admin, finding, alice, bob)
    [release] = ask(bob, finding, ag, [canada])
    # The originator's release officer still decides.
    with pytest.raises(PermissionDenied):
        release_approve(actor=PersonFactory(organisation=usaisi), release=release)
    release_approve(actor=rita, release=release)
    assert release.status == Release.Status.APPROVED


def test_orcon_is_never_re_released_by_a_recipient(ukasi, usaisi, canada, portal_admin, finding, alice, bob):
    ag = onward_world(ukasi, usaisi, canada, portal_admin, finding, alice, bob, orcon=True)
    with pytest.raises(ValidationError, match="ORCON"):
        ask(bob, finding, ag, [canada])
    # ...while the originator may still release it.
    assert ask(alice, finding, ag, [canada])


@pytest.mark.parametrize("lapse", [None, "requested", "revoked", "expired", "agreement suspended", "agreement ahead"])
def test_with_no_agreement_named_a_recipient_may_ask_only_while_a_release_under_onward_sharing_is_live(
    lapse, ukasi, usaisi, canada, portal_admin, finding, alice, bob, uk_us_agreement
):
    ag = onward_world(ukasi, usaisi, canada, portal_admin, finding, alice, bob)
    # Also held under an agreement without onward sharing, so the finding stays readable throughout.
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    onward = Release.objects.filter(document=finding, agreement=ag)
    now = timezone.now()
    if lapse == "requested":
        onward.update(status=Release.Status.REQUESTED)
    elif lapse == "revoked":
        onward.update(revoked_at=now)
    elif lapse == "expired":
        onward.update(expires_at=now - timedelta(seconds=1))
    elif lapse == "agreement suspended":
        SharingAgreement.objects.filter(pk=ag.pk).update(status=SharingAgreement.Status.SUSPENDED)
    elif lapse == "agreement ahead":
        SharingAgreement.objects.filter(pk=ag.pk).update(effective_from=now + timedelta(hours=1))
    assert can_read(bob, finding)
    decision = can_request_release(bob, finding)
    assert decision.allowed is (lapse is None), decision.reason


def test_approval_grants_the_recipient_group_and_tells_its_readers(
    alice, rita, bob, finding, uk_us_agreement, usaisi, django_capture_on_commit_callbacks
):
    uncleared = PersonFactory(organisation=usaisi)
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    assert not can_read(bob, finding)
    with django_capture_on_commit_callbacks(execute=True):
        release_approve(actor=rita, release=release, reason="agreed")
    assert release.status == Release.Status.APPROVED and release.decided_by == rita
    assert DocumentGroupObjectPermission.objects.filter(content_object=finding, group=usaisi.group).exists()
    assert can_read(bob, finding)
    # Only people who can now read it are told, and the mail names no title.
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert finding.title not in mail.outbox[0].body + mail.outbox[0].subject
    assert uncleared.email not in str([m.to for m in mail.outbox])


def test_the_requester_never_approves_their_own_request(alice, finding, uk_us_agreement, usaisi):
    give_role(alice, "release_officer")
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    with pytest.raises(PermissionDenied, match="own request"):
        release_approve(actor=alice, release=release)
    assert AuditEvent.objects.filter(action=Action.RELEASE_APPROVED, outcome="denied").count() == 1
    release.refresh_from_db()
    assert release.status == Release.Status.REQUESTED


def test_a_non_officer_cannot_decide(alice, olivia, finding, uk_us_agreement, usaisi):
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    with pytest.raises(PermissionDenied, match="not a release officer"):
        release_refuse(actor=olivia, release=release, reason="no")


def test_approval_rechecks_the_agreement(alice, rita, portal_admin, finding, uk_us_agreement, usaisi):
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    agreement_suspend(actor=portal_admin, agreement=uk_us_agreement, reason="review")
    with pytest.raises(ValidationError, match="agreement suspended"):
        release_approve(actor=rita, release=release)
    assert not DocumentGroupObjectPermission.objects.exists()


def test_approval_rechecks_releasability(alice, rita, finding, uk_us_agreement, usaisi):
    """A finding re-marked GBR EYES ONLY after its release was requested is refused at approval."""
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    document_update(actor=alice, document=finding, releasable_to=[])
    with pytest.raises(ValidationError, match="USA is not in the document's releasable-to list"):
        release_approve(actor=rita, release=release)
    release.refresh_from_db()
    assert release.status == Release.Status.REQUESTED
    assert not DocumentGroupObjectPermission.objects.exists()
    event = AuditEvent.objects.get(action=Action.RELEASE_APPROVED, outcome="denied")
    assert event.details["reason"] == Reason.COUNTRY_NOT_RELEASABLE


def test_a_partner_admins_say_so_about_nationality_never_widens_the_marking(
    alice, rita, finding, uk_us_agreement, usaisi
):
    """A US-institute member whose nationality the US admin set to GBR does not read a GBR EYES
    ONLY finding released (earlier) to the US institute, on either face of the policy."""
    eyes_only = DocumentFactory(author=alice, releasable_to=["GBR"], risk_domains=["cyber-offence"])
    ReleaseFactory(document=eyes_only, agreement=uk_us_agreement, recipient=usaisi, decided_by=rita)
    gbr_at_us = PersonFactory(organisation=usaisi, nationality="GBR", clearance="secret")
    decision = can_read(gbr_at_us, eyes_only)
    assert decision.reason == Reason.COUNTRY_NOT_RELEASABLE
    assert not readable_documents(gbr_at_us).filter(pk=eyes_only.pk).exists()
    # Re-marking a released finding EYES ONLY shuts the door too (and suspends its release).
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    release_approve(actor=rita, release=release)
    assert can_read(gbr_at_us, finding)
    document_update(actor=alice, document=finding, releasable_to=[])
    assert not can_read(gbr_at_us, finding)
    assert not readable_documents(gbr_at_us).filter(pk=finding.pk).exists()


def test_refusal_needs_a_reason_and_grants_nothing(alice, rita, finding, uk_us_agreement, usaisi):
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    with pytest.raises(ValidationError):
        release_refuse(actor=rita, release=release, reason=" ")
    release_refuse(actor=rita, release=release, reason="not needed")
    assert release.status == Release.Status.REFUSED
    with pytest.raises(ValidationError):
        release_approve(actor=rita, release=release)
    assert not DocumentGroupObjectPermission.objects.exists()


def test_a_narrowed_release_grants_named_readers_only(alice, rita, bob, finding, uk_us_agreement, usaisi):
    carol = PersonFactory(organisation=usaisi, clearance="secret")
    [release] = ask(alice, finding, uk_us_agreement, [usaisi], audience=[carol])
    release_approve(actor=rita, release=release)
    assert not DocumentGroupObjectPermission.objects.exists()
    assert DocumentUserObjectPermission.objects.filter(user=carol, content_object=finding).exists()
    assert can_read(carol, finding)
    assert can_read(bob, finding).reason == Reason.NOT_IN_AUDIENCE


def test_an_audience_outside_the_recipients_is_refused(alice, finding, uk_us_agreement, usaisi, ukasi):
    with pytest.raises(ValidationError, match="named reader"):
        ask(alice, finding, uk_us_agreement, [usaisi], audience=[PersonFactory(organisation=ukasi)])


def test_a_second_live_request_for_the_same_recipient_is_refused(alice, finding, uk_us_agreement, usaisi):
    ask(alice, finding, uk_us_agreement, [usaisi])
    with pytest.raises(ValidationError, match="already requested"):
        ask(alice, finding, uk_us_agreement, [usaisi])


def test_revocation_ends_access_at_once_and_removes_the_grant(alice, rita, bob, finding, uk_us_agreement, usaisi):
    [release] = ask(alice, finding, uk_us_agreement, [usaisi])
    release_approve(actor=rita, release=release)
    assert can_read(bob, finding)
    with pytest.raises(PermissionDenied):
        release_revoke(actor=bob, release=release, reason="mine now")
    release_revoke(actor=rita, release=release, reason="superseded")
    assert release.status == Release.Status.REVOKED and release.revoked_by == rita
    assert not can_read(bob, finding)
    assert not DocumentGroupObjectPermission.objects.exists()
    assert AuditEvent.objects.get(action=Action.RELEASE_REVOKED, outcome="allowed").details["grants_removed"] == 1


def test_revoking_one_release_keeps_the_grant_another_live_release_needs(
    alice, rita, bob, finding, uk_us_agreement, ukasi, usaisi, portal_admin
):
    other = AgreementFactory(parties=[ukasi, usaisi], created_by=portal_admin, reference="UK-US-2")
    first = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    ReleaseFactory(document=finding, agreement=other, recipient=usaisi)
    release_revoke(actor=rita, release=first, reason="tidy")
    assert DocumentGroupObjectPermission.objects.filter(group=usaisi.group, content_object=finding).exists()
    assert can_read(bob, finding)


def test_a_release_past_its_expiry_stops_access_before_any_job(alice, rita, bob, finding, uk_us_agreement, usaisi):
    [release] = ask(alice, finding, uk_us_agreement, [usaisi], expires_at=timezone.now() + timedelta(days=1))
    release_approve(actor=rita, release=release)
    assert can_read(bob, finding)
    Release.objects.filter(pk=release.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert can_read(bob, finding).reason == Reason.RELEASE_PAST_EXPIRY


def test_a_release_cannot_outlive_its_agreement(alice, finding, uk_us_agreement, usaisi):
    ends = uk_us_agreement.expires_at
    for when in (ends, ends + timedelta(days=1)):
        with pytest.raises(ValidationError, match="before its agreement does"):
            ask(alice, finding, uk_us_agreement, [usaisi], expires_at=when)
    assert not Release.objects.exists()
    assert refused_requests().count() == 2
    [release] = ask(alice, finding, uk_us_agreement, [usaisi], expires_at=ends - timedelta(seconds=1))
    assert release.expires_at == ends - timedelta(seconds=1)


def test_withdrawing_the_document_ends_partner_access(alice, bob, finding, uk_us_agreement, usaisi):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    assert can_read(bob, finding)
    finding.status = "withdrawn"
    finding.save(update_fields=["status"])
    assert can_read(bob, finding).reason == Reason.DOCUMENT_WITHDRAWN
    assert can_read(alice, finding)


def test_release_request_refusal_answers_without_writing(alice, finding, uk_us_agreement, usaisi, ukasi):
    """The public rule check the request page shows before sending: the same answer the
    service gives, and no row of any kind (the page asks it once per party)."""
    from sharing.services.releases import release_request_refusal

    before = AuditEvent.objects.count()
    now = timezone.now()
    common = {"actor": alice, "document": finding, "agreement": uk_us_agreement, "expires_at": None, "now": now}
    assert release_request_refusal(recipients=[usaisi], justification="joint evaluation", **common) is None
    refusal = release_request_refusal(recipients=[usaisi], justification=" ", **common)
    assert refusal.reason == Reason.JUSTIFICATION_REQUIRED and refusal.sentence == "a justification is required"
    refusal = release_request_refusal(recipients=[ukasi], justification="joint evaluation", **common)
    assert (
        refusal.reason == Reason.RECIPIENT_HOLDS_DOCUMENT and refusal.sentence == f"{ukasi} already holds the document"
    )
    assert AuditEvent.objects.count() == before and not Release.objects.exists()
    with pytest.raises(ValidationError, match="justification is required"):
        ask(alice, finding, uk_us_agreement, [usaisi], justification=" ")
