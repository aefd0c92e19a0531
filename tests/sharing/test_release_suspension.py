"""A re-mark that breaks a live release suspends it, visibly and on both sides; only the
originator's release officer reinstates it, once it is back in scope."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import DocumentGroupObjectPermission, MarkingProposal, Release
from sharing.policy import can_read, readable_documents
from sharing.services.documents import document_update
from sharing.services.markings import marking_proposal_approve
from sharing.services.releases import release_reinstate, release_revoke
from tests.factories import ReleaseFactory, country, tier

pytestmark = pytest.mark.django_db


def widen_back(author, officer, document):
    """Re-mark the document releasable to the US again: a wider marking, so a second person's."""
    document_update(actor=author, document=document, releasable_to=[country("USA")])
    proposal = MarkingProposal.objects.get(document=document, status="pending")
    marking_proposal_approve(actor=officer, proposal=proposal)


@pytest.fixture
def released(finding, uk_us_agreement, usaisi, rita):
    return ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi, decided_by=rita)


def test_a_re_mark_out_of_releasability_suspends_the_release_with_its_reason(
    alice, bob, rita, finding, released, django_capture_on_commit_callbacks
):
    assert can_read(bob, finding)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        document_update(actor=alice, document=finding, releasable_to=[])
    released.refresh_from_db()
    assert released.status == Release.Status.SUSPENDED
    assert released.suspension_reason == Reason.COUNTRY_NOT_RELEASABLE
    assert released.suspension == "USA is not in the document's releasable-to list"
    assert released.get_status_display() == "Suspended: out of scope"
    # Access is refused on both faces, and the grant is gone.
    assert not can_read(bob, finding)
    assert not readable_documents(bob).filter(pk=finding.pk).exists()
    assert not DocumentGroupObjectPermission.objects.filter(content_object=finding).exists()
    event = AuditEvent.objects.get(action=Action.RELEASE_SUSPENDED)
    assert event.details["reason"] == Reason.COUNTRY_NOT_RELEASABLE
    # Both sides are told, and neither mail names the marking or the title.
    told = {m.to[0] for m in mail.outbox}
    assert {bob.email, rita.email} <= told
    for message in mail.outbox:
        assert "suspended: out of scope" in message.subject
        assert finding.title not in message.body and "GBR" not in message.body and "EYES" not in message.body


def test_a_re_mark_above_the_ceiling_suspends_too(sam, finding, released):
    document_update(actor=sam, document=finding, tier=tier("secret"))
    released.refresh_from_db()
    assert released.status == Release.Status.SUSPENDED
    assert released.suspension_reason == Reason.TIER_ABOVE_CEILING


def test_a_re_mark_within_scope_leaves_the_release_alone(alice, bob, finding, released):
    document_update(actor=alice, document=finding, releasable_to=[country("USA"), country("CAN")])
    released.refresh_from_db()
    assert released.status == Release.Status.APPROVED
    assert can_read(bob, finding)


def test_re_marking_back_does_not_restore_only_the_release_officer_does(alice, bob, rita, finding, released):
    document_update(actor=alice, document=finding, releasable_to=[])
    widen_back(alice, rita, finding)
    released.refresh_from_db()
    assert released.status == Release.Status.SUSPENDED
    assert not can_read(bob, finding)
    with pytest.raises(PermissionDenied):
        release_reinstate(actor=alice, release=released)
    release_reinstate(actor=rita, release=released, reason="back in scope")
    assert released.status == Release.Status.APPROVED
    assert can_read(bob, finding)
    assert readable_documents(bob).filter(pk=finding.pk).exists()
    event = AuditEvent.objects.get(action=Action.RELEASE_REINSTATED, outcome="allowed")
    assert event.details["was"] == Reason.COUNTRY_NOT_RELEASABLE


def test_reinstating_rechecks_scope(alice, rita, finding, released):
    document_update(actor=alice, document=finding, releasable_to=[])
    released.refresh_from_db()
    with pytest.raises(ValidationError, match="not in the document's releasable-to list"):
        release_reinstate(actor=rita, release=released)
    released.refresh_from_db()
    assert released.status == Release.Status.SUSPENDED
    assert AuditEvent.objects.get(action=Action.RELEASE_REINSTATED, outcome="denied").details["reason"] == (
        Reason.COUNTRY_NOT_RELEASABLE
    )


def test_the_originator_sees_the_state_and_reason_and_reinstates_by_post(
    alice, rita, finding, released, verified_client
):
    document_update(actor=alice, document=finding, releasable_to=[])
    client = verified_client(rita)
    page = client.get(reverse("sharing:document_detail", args=[finding.code])).content.decode()
    assert "Suspended: out of scope" in page and "USA is not in the document" in page
    queue = client.get(reverse("sharing:release_queue")).content.decode()
    assert "Suspended: out of scope" in queue
    assert client.get(reverse("sharing:release_reinstate", args=[released.code])).status_code == 405
    widen_back(alice, rita, finding)
    client.post(reverse("sharing:release_reinstate", args=[released.code]), {"reason": "in scope"})
    released.refresh_from_db()
    assert released.status == Release.Status.APPROVED


def test_reinstating_is_refused_to_the_anonymous_and_outsiders(
    alice, carl, bob, finding, released, client, verified_client
):
    document_update(actor=alice, document=finding, releasable_to=[])
    url = reverse("sharing:release_reinstate", args=[released.code])
    assert client.post(url).status_code == 302  # anonymous: to the sign-in page
    for outsider in (carl, bob):
        assert verified_client(outsider).post(url).status_code in (403, 404)
    released.refresh_from_db()
    assert released.status == Release.Status.SUSPENDED


def test_the_originators_officer_revokes_a_suspended_release_for_good(alice, rita, bob, finding, released):
    document_update(actor=alice, document=finding, releasable_to=[])
    released.refresh_from_db()
    with pytest.raises(PermissionDenied):
        release_revoke(actor=alice, release=released, reason="ending it")
    release_revoke(actor=rita, release=released, reason="will not come back into scope")
    assert released.status == Release.Status.REVOKED and released.revoked_by == rita
    event = AuditEvent.objects.get(action=Action.RELEASE_REVOKED, outcome="allowed")
    assert event.details["was"] == Release.Status.SUSPENDED
    assert AuditEvent.objects.filter(action=Action.RELEASE_REVOKED, outcome="denied", actor_id=alice.pk).exists()
    widen_back(alice, rita, finding)
    with pytest.raises(ValidationError):
        release_reinstate(actor=rita, release=released)
    assert not can_read(bob, finding)


def test_a_suspended_release_is_revoked_from_the_queue(alice, rita, finding, released, verified_client):
    document_update(actor=alice, document=finding, releasable_to=[])
    client = verified_client(rita)
    assert "Revoke for good" in client.get(reverse("sharing:release_queue")).content.decode()
    client.post(reverse("sharing:release_revoke", args=[released.code]), {"reason": "ended"})
    released.refresh_from_db()
    assert released.status == Release.Status.REVOKED


def test_the_partner_sees_the_suspension_by_neutral_reference_only(alice, bob, finding, released, verified_client):
    document_update(actor=alice, document=finding, releasable_to=[])
    page = verified_client(bob).get(reverse("home")).content.decode()
    assert "Suspended: out of scope" in page
    assert str(finding.code) in page and str(released.code) in page
    # Not the title, not the banner (the new marking), not the reason.
    assert finding.title not in page
    assert "EYES ONLY" not in page and "OFFICIAL-SENSITIVE" not in page and "releasable-to" not in page


def test_a_partner_outside_a_narrowed_release_sees_nothing_of_its_suspension(
    alice, bob, carol, finding, uk_us_agreement, usaisi, verified_client
):
    from tests.factories import ReleaseFactory

    narrowed = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi, audience=[carol])
    document_update(actor=alice, document=finding, releasable_to=[])
    assert str(narrowed.code) in verified_client(carol).get(reverse("home")).content.decode()
    assert str(narrowed.code) not in verified_client(bob).get(reverse("home")).content.decode()
