"""A release pins a revision, files included: a file attached to a released finding belongs to a
new revision, and the partner neither sees, downloads, lists nor learns of it (its results
included) until the originator's release officer approves the update. To the partner it answers
exactly like a file that does not exist; the originator's trail keeps the real reason."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from evals.models import EvalRun
from evals.selectors import readable_runs
from sharing.models import DocumentRevision
from sharing.policy import attachments_read, can_download, document_for_reader, readable_attachments
from sharing.selectors import readable_attachment_codes
from sharing.services.release_updates import pending_update, release_update_approve
from tests.api.conftest import bearer, make_token
from tests.factories import AttachmentFactory, DocumentFactory, ReleaseFactory, login_verified

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"


@pytest.fixture
def release(finding, uk_us_agreement, usaisi, rita):
    """The finding, with one file, released to the US; then its author attaches a second."""
    AttachmentFactory(document=finding, filename="released.txt", data=b"in the release\n")
    release = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi, decided_by=rita)
    return release


@pytest.fixture
def later(release, finding):
    return AttachmentFactory(document=finding, filename="attached-later.txt", data=b"not yet released\n")


def unsalted(page: bytes) -> bytes:
    return re.sub(rb'(nonce|value)="[A-Za-z0-9+/=_-]{20,}"', b"", page)


def names(attachments) -> set[str]:
    return {a.filename for a in attachments}


def test_attaching_to_a_published_finding_writes_a_revision_of_its_own(release, later, finding):
    revision = DocumentRevision.objects.get(document=finding, number=later.added_in_revision)
    assert later.added_in_revision == release.revision.number + 1 == finding.revision
    assert revision.changed_fields == ["attachments"] and "attached-later.txt" in revision.note
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_UPLOADED, target_id=str(later.code))
    assert event.details["revision"] == later.added_in_revision


def test_a_draft_takes_files_into_the_revision_it_is_at(alice):
    draft = DocumentFactory(author=alice, status="draft")
    before = draft.revision
    attachment = AttachmentFactory(document=draft)
    draft.refresh_from_db()
    assert draft.revision == before == attachment.added_in_revision


def test_the_partner_sees_only_the_released_files_until_the_update_is_approved(
    release, later, finding, bob, alice, rita
):
    assert pending_update(release).number == later.added_in_revision
    assert names(readable_attachments(bob).filter(document=finding)) == {"released.txt"}
    assert names(readable_attachments(alice).filter(document=finding)) == {"released.txt", "attached-later.txt"}
    assert not can_download(bob, later) and can_download(bob, later).reason == Reason.ATTACHMENT_NOT_RELEASED
    assert can_download(alice, later)
    assert set(readable_attachment_codes(bob, {later.code})) == set()  # the audit trail names it to no partner

    release_update_approve(actor=rita, release=release, revision=later.added_in_revision)
    assert names(readable_attachments(bob).filter(document=finding)) == {"released.txt", "attached-later.txt"}
    assert can_download(bob, later)


def test_the_partners_pages_and_api_show_nothing_of_the_later_file(client, release, later, finding, bob):
    login_verified(client, bob)
    page = client.get(reverse("sharing:document_detail", args=[finding.code])).content.decode()
    assert "released.txt" in page and "attached-later.txt" not in page and str(later.code) not in page
    listed = client.get(f"/api/v1/documents/{finding.code}/attachments/", **bearer(make_token(bob)))
    assert listed.status_code == 200
    assert [a["filename"] for a in listed.json()] == ["released.txt"]


def test_downloading_the_later_file_answers_like_a_missing_one_audited(client, release, later, bob):
    login_verified(client, bob)
    hidden = client.get(reverse("sharing:attachment_download", args=[later.code]))
    missing = client.get(reverse("sharing:attachment_download", args=[uuid.uuid4()]))
    assert hidden.status_code == missing.status_code == 404
    # The same page word for word, but for the per-response CSRF token and nonce.
    assert unsalted(hidden.content) == unsalted(missing.content)
    refused = AuditEvent.objects.get(action=Action.ACCESS_DENIED, target_id=str(later.code))
    assert refused.details["reason"] == Reason.ATTACHMENT_NOT_RELEASED
    token = bearer(make_token(bob))
    api_hidden = client.get(f"/api/v1/attachments/{later.code}/download/", **token)
    api_missing = client.get(f"/api/v1/attachments/{uuid.uuid4()}/download/", **token)
    assert api_hidden.status_code == api_missing.status_code == 404
    assert api_hidden.json() == api_missing.json()


def test_destroying_answers_a_partner_404_for_a_file_it_cannot_see_as_for_none(client, release, later, finding, bob):
    released = finding.attachments.get(filename="released.txt")
    login_verified(client, bob)
    hidden = client.post(reverse("sharing:attachment_destroy", args=[later.code]))
    missing = client.post(reverse("sharing:attachment_destroy", args=[uuid.uuid4()]))
    seen = client.post(reverse("sharing:attachment_destroy", args=[released.code]))
    assert hidden.status_code == missing.status_code == 404
    assert seen.status_code == 403  # a file they read, on a document they may not change
    later.refresh_from_db()
    released.refresh_from_db()
    assert later.destroyed_at is None and released.destroyed_at is None
    denied = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, details__wanted="destroy", outcome="denied")
    assert denied.count() == 3


def test_attachments_read_follows_the_revision_the_reader_reads(release, later, finding, bob):
    assert names(attachments_read(document_for_reader(bob, finding.code))) == {"released.txt"}


def test_results_of_a_later_log_reach_the_partner_only_with_the_update(
    release, finding, bob, alice, rita, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        log = AttachmentFactory(
            document=finding,
            filename="success.eval",
            data=(FIXTURES / "success.eval").read_bytes(),
            content_type="application/zip",
        )
    run = EvalRun.objects.get(attachment_code=log.code)
    assert readable_runs(alice).filter(pk=run.pk).exists()
    assert not readable_runs(bob).filter(pk=run.pk).exists()
    release_update_approve(actor=rita, release=release, revision=log.added_in_revision)
    assert readable_runs(bob).filter(pk=run.pk).exists()
