"""A re-mark that breaks a live release suspends it, visibly and on both sides; only the
originator's release officer reinstates it, once it is back in scope."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import DocumentGroupObjectPermission, Release
from sharing.policy import can_read, readable_documents
from sharing.services.documents import document_update
from sharing.services.releases import release_reinstate
from tests.factories import ReleaseFactory, country, tier

pytestmark = pytest.mark.django_db


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
    document_update(actor=alice, document=finding, releasable_to=[country("USA")])
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
    document_update(actor=alice, document=finding, releasable_to=[country("USA")])
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
