"""Withdrawn means frozen: no new attachment by any path, no approval of a pending release; each
refusal answered 409 (or raised, for a service caller) and audited with the `withdrawn` code."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.attachments import DocumentFrozen, attachment_create, attachment_create_from_stream
from sharing.models import Attachment, Document, Release
from sharing.services import document_withdraw
from sharing.services.releases import release_approve, release_refuse, release_request
from tests.api.conftest import make_token
from tests.factories import DocumentFactory
from vault.attachments import BlobWriter, attachment_storage

pytestmark = pytest.mark.django_db


@pytest.fixture
def withdrawn(alice):
    """Alice's UK finding, published and then withdrawn by her."""
    document = DocumentFactory(author=alice, title="Superseded finding", tier="official")
    return document_withdraw(actor=alice, document=document, reason="Superseded.")


def frozen_refusals(document) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=Action.ATTACHMENT_REJECTED,
            outcome=Outcome.DENIED,
            target_id=str(document.code),
            details__reason=Reason.WITHDRAWN,
        )
    )


def blobs(media) -> list:
    root = media / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_web_upload_to_a_withdrawn_document_is_409_and_audited(verified_client, alice, withdrawn, media):
    response = verified_client(alice).post(
        reverse("sharing:attachment_upload", args=[withdrawn.code]),
        {"file": SimpleUploadedFile("late.txt", b"too late\n", "text/plain")},
    )
    assert response.status_code == 409
    assert "withdrawn" in response.content.decode()
    assert not Attachment.objects.filter(document=withdrawn).exists()
    assert not blobs(media)
    [event] = frozen_refusals(withdrawn)
    assert event.actor_id == alice.pk and event.organisation_id == withdrawn.originator_id


def test_api_upload_to_a_withdrawn_document_is_409_withdrawn_and_audited(alice, withdrawn, media):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(alice)}")
    response = client.post(
        reverse("api:document_attachment_named", args=[withdrawn.code, "late.txt"]),
        data=b"too late\n",
        content_type="text/plain",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "withdrawn"
    assert not Attachment.objects.filter(document=withdrawn).exists()
    assert not blobs(media)
    assert len(frozen_refusals(withdrawn)) == 1


def test_the_upload_page_of_a_withdrawn_document_offers_no_upload(verified_client, alice, withdrawn):
    response = verified_client(alice).get(reverse("sharing:document_attachments", args=[withdrawn.code]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "takes no new attachments" in page
    assert reverse("sharing:attachment_upload", args=[withdrawn.code]) not in page


def test_the_stream_service_refuses_before_reading_a_byte(alice, withdrawn, media):
    stream = io.BytesIO(b"too late\n")
    with pytest.raises(DocumentFrozen) as refused:
        attachment_create_from_stream(actor=alice, document=withdrawn, stream=stream, filename="late.txt")
    assert isinstance(refused.value, ValidationError) and refused.value.code == Reason.WITHDRAWN
    assert stream.tell() == 0
    assert not blobs(media)
    assert len(frozen_refusals(withdrawn)) == 1


def test_a_withdrawal_while_the_file_streamed_in_wins(alice, media):
    """The gate passed on a published document; by the time the sealed blob is recorded it was
    withdrawn. The row lock sees it: nothing is recorded and the blob is deleted."""
    document = DocumentFactory(author=alice, tier="official")
    seen_before_withdrawal = Document.objects.get(pk=document.pk)
    writer = BlobWriter(org_id=document.originator_id)
    writer.write(b"in flight\n")
    sealed = writer.finish(filename="flight.txt", content_type="text/plain")
    document_withdraw(actor=alice, document=document)
    with pytest.raises(DocumentFrozen):
        attachment_create(actor=alice, document=seen_before_withdrawal, sealed=sealed)
    assert not Attachment.objects.exists()
    assert not attachment_storage().exists(sealed.blob_name)
    assert len(frozen_refusals(document)) == 1


def test_a_published_document_still_takes_attachments(alice, media):
    document = DocumentFactory(author=alice, tier="official")
    attachment = attachment_create_from_stream(
        actor=alice, document=document, stream=io.BytesIO(b"fine\n"), filename="fine.txt"
    )
    assert attachment.document == document


@pytest.fixture
def pending_then_withdrawn(alice, finding, uk_us_agreement, usaisi):
    """A release of Alice's finding to the US awaiting decision, then the finding withdrawn."""
    [release] = release_request(
        actor=alice, document=finding, agreement=uk_us_agreement, recipients=[usaisi], justification="Joint testing"
    )
    document_withdraw(actor=alice, document=finding, reason="Wrong figures.")
    release.refresh_from_db()
    return release


def test_a_pending_release_of_a_withdrawn_document_cannot_be_approved(rita, pending_then_withdrawn):
    release = pending_then_withdrawn
    with pytest.raises(ValidationError):
        release_approve(actor=rita, release=release)
    release.refresh_from_db()
    assert release.status == Release.Status.REQUESTED
    event = AuditEvent.objects.get(action=Action.RELEASE_APPROVED)
    assert (event.outcome, event.details["reason"]) == (Outcome.DENIED, Reason.WITHDRAWN)


def test_a_pending_release_of_a_withdrawn_document_can_still_be_refused(rita, pending_then_withdrawn):
    release = release_refuse(actor=rita, release=pending_then_withdrawn, reason="Withdrawn meanwhile.")
    assert release.status == Release.Status.REFUSED


def test_approval_sees_a_withdrawal_that_lands_after_its_checks(rita, alice, pending_then_withdrawn):
    """The release's document object says published (read before the withdrawal); the lock in
    the approval's transaction reads the truth."""
    release = Release.objects.select_related("document").get(pk=pending_then_withdrawn.pk)
    release.document.status = Document.Status.PUBLISHED  # as the approver's request loaded it
    with pytest.raises(ValidationError):
        release_approve(actor=rita, release=release)
    assert Release.objects.get(pk=release.pk).status == Release.Status.REQUESTED
    event = AuditEvent.objects.filter(action=Action.RELEASE_APPROVED).latest("seq")
    assert event.details["reason"] == Reason.WITHDRAWN


def test_the_release_page_approval_of_a_withdrawn_document_is_refused(verified_client, rita, pending_then_withdrawn):
    client = verified_client(rita)
    response = client.post(reverse("sharing:release_approve", args=[pending_then_withdrawn.code]), follow=True)
    assert "The document has been withdrawn; its release cannot be approved." in response.content.decode()
    pending_then_withdrawn.refresh_from_db()
    assert pending_then_withdrawn.status == Release.Status.REQUESTED
