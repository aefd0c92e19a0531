"""The gates and the list face of the policy: 404 alike for missing and forbidden, every denial
audited, one query for any list size, and time-bound rules ending access on the next request.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from accounts.models import ClearanceGrant, ReadIn
from audit.models import Action, AuditEvent
from audit.reasons import Reason, sentence_of
from sharing.models import Attachment
from sharing.policy import (
    attachment_for_download,
    can_read,
    document_for_editor,
    document_for_reader,
    readable_documents,
)
from sharing.services.agreements import agreement_suspend
from sharing.services.releases import release_revoke
from tests.factories import (
    AttachmentFactory,
    DocumentFactory,
    PersonFactory,
    ReadInFactory,
    ReleaseFactory,
    compartment,
    grant_clearance,
    pass_on,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(finding, uk_us_agreement, usaisi, alice):
    return ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)


def denials():
    return AuditEvent.objects.filter(action=Action.ACCESS_DENIED, outcome="denied")


def test_reader_gate_returns_a_readable_document(bob, finding, released):
    assert document_for_reader(bob, finding.code) == finding
    assert document_for_reader(bob, str(finding.code)) == finding
    assert not denials().exists()


@pytest.mark.parametrize("code", ["missing", "forbidden", "garbage", "none"])
def test_missing_forbidden_and_malformed_codes_all_answer_the_same_404(bob, finding, code):
    wanted = {"missing": uuid.uuid4(), "forbidden": finding.code, "garbage": "not-a-uuid'--", "none": None}[code]
    with pytest.raises(Http404) as caught:
        document_for_reader(bob, wanted)
    assert str(caught.value) == "No such document."
    event = denials().get()
    assert event.details["wanted"] == "read"
    assert event.details["reason"] == (
        Reason.NOT_RELEASED_TO_ORGANISATION if code == "forbidden" else Reason.NO_SUCH_DOCUMENT
    )


def test_a_reader_who_may_not_edit_gets_403_and_an_audit_row(bob, finding, released):
    with pytest.raises(PermissionDenied):
        document_for_editor(bob, finding.code)
    assert denials().get().details == {"reason": Reason.NOT_THE_ORIGINATOR, "wanted": "edit"}


def test_an_author_of_the_originator_gets_the_editor_gate(alice, finding):
    assert document_for_editor(alice, finding.code) == finding


def test_an_outsider_gets_404_not_403_from_the_editor_gate(finding, canada):
    outsider = PersonFactory(organisation=canada, clearance="secret")
    with pytest.raises(Http404):
        document_for_editor(outsider, finding.code)


def test_download_gate_refuses_a_file_not_yet_scanned(bob, finding, released):
    attachment = AttachmentFactory(document=finding, scan=False)
    pass_on(finding)
    with pytest.raises(Http404):
        attachment_for_download(bob, attachment.code)
    assert denials().get().details["reason"] == Reason.ATTACHMENT_NOT_CLEAN
    Attachment.objects.filter(pk=attachment.pk).update(scan_status="clean")
    assert attachment_for_download(bob, attachment.code) == attachment


def test_an_unverified_session_reads_nothing(alice, finding):
    alice.is_verified = lambda: False  # what OTPMiddleware attaches before MFA
    assert can_read(alice, finding).reason == Reason.NOT_MFA_VERIFIED
    assert not readable_documents(alice).exists()


def test_readable_documents_costs_one_query_whatever_the_size(
    bob, ukasi, usaisi, alice, uk_us_agreement, django_assert_num_queries
):
    def add(count):
        for _ in range(count):
            doc = DocumentFactory(author=alice, releasable_to=["USA"])
            ReleaseFactory(document=doc, agreement=uk_us_agreement, recipient=usaisi)

    add(3)
    # One query: SELECT documents WHERE (originator = my org OR (published AND id IN my group's or
    # my view_document rows AND EXISTS a live covering release to my org)) AND org active AND
    # nationality releasable AND no unmet compartment AND tier rank <= my clearance now. The user's
    # clearance, read-ins, releases and grants are subqueries of it, not queries of their own.
    with django_assert_num_queries(1):
        assert len(list(readable_documents(bob))) == 3
    add(27)
    with django_assert_num_queries(1):
        assert len(list(readable_documents(bob))) == 30


def test_suspending_the_agreement_ends_access_on_the_next_request(
    bob, finding, released, uk_us_agreement, portal_admin
):
    assert document_for_reader(bob, finding.code)
    agreement_suspend(actor=portal_admin, agreement=uk_us_agreement, reason="incident")
    with pytest.raises(Http404):
        document_for_reader(bob, finding.code)
    assert denials().get().details["reason"] == Reason.AGREEMENT_SUSPENDED
    assert not readable_documents(bob).exists()


def test_revoking_the_release_ends_access_on_the_next_request(bob, finding, released, rita):
    assert document_for_reader(bob, finding.code)
    release_revoke(actor=rita, release=released, reason="superseded")
    with pytest.raises(Http404):
        document_for_reader(bob, finding.code)
    assert not readable_documents(bob).exists()


def test_a_clearance_ends_at_its_second(bob, finding, released):
    assert document_for_reader(bob, finding.code)
    ClearanceGrant.objects.filter(user=bob).update(valid_until=timezone.now())
    with pytest.raises(Http404):
        document_for_reader(bob, finding.code)
    assert denials().get().details["reason"] == Reason.CLEARANCE_BELOW_TIER
    assert not readable_documents(bob).exists()


def test_a_read_in_ends_at_its_second(bob, finding, released):
    finding.compartments.set([compartment("joint-ex-1")])
    ReadInFactory(user=bob, compartment="joint-ex-1", expires_at=timezone.now() + timedelta(hours=1))
    assert document_for_reader(bob, finding.code)
    ReadIn.objects.filter(user=bob).update(expires_at=timezone.now())
    with pytest.raises(Http404):
        document_for_reader(bob, finding.code)
    details = denials().get().details
    assert (details["reason"], details["compartments"]) == (Reason.NOT_READ_IN_TO, "joint-ex-1")
    assert sentence_of(details) == "not read in to joint-ex-1"
    assert not readable_documents(bob).exists()


def test_anonymous_and_orgless_users_read_nothing(finding, portal_admin):
    from django.contrib.auth.models import AnonymousUser

    assert not can_read(AnonymousUser(), finding)
    assert not readable_documents(AnonymousUser()).exists()
    # A portal admin belongs to no organisation: administering is not reading.
    grant_clearance(portal_admin, "secret")
    assert can_read(portal_admin, finding).reason == Reason.NO_ORGANISATION


def test_the_originators_country_is_releasable_even_when_not_listed(alice, bob, finding, released):
    finding.releasable_to.clear()
    assert can_read(alice, finding)
    assert list(readable_documents(alice)) == [finding]
    assert can_read(bob, finding).reason == Reason.NATIONALITY_NOT_RELEASABLE
    assert not readable_documents(bob).exists()
