"""The document page's Destroy step for an attachment: offered to the originator's authors
only, behind a confirmation, and back to the page afterwards with the file gone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from sharing.models import Attachment
from tests.factories import AgreementFactory, AttachmentFactory, DocumentFactory, ReleaseFactory, grant_clearance

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def shared(alice, bob, rory, ukasi, usaisi, gbr_usa):
    """A UK finding released to the US, with one clean attachment."""
    document = DocumentFactory(author=alice, releasable_to=gbr_usa)
    agreement = AgreementFactory(parties=[ukasi, usaisi], ceiling="secret")
    attachment = AttachmentFactory(document=document, data=b"evidence\n", filename="evidence.txt", content_type="")
    ReleaseFactory(document=document, agreement=agreement, recipient=usaisi)
    return document, attachment


def _page(client, document) -> str:
    return client.get(reverse("sharing:document_detail", args=[document.code])).content.decode()


def test_author_sees_the_scan_status_and_a_destroy_step_behind_a_confirmation(verified_client, alice, shared):
    document, attachment = shared
    html = _page(verified_client(alice), document)
    assert attachment.get_scan_status_display() in html
    action = reverse("sharing:attachment_destroy", args=[attachment.code])
    # The form sits inside a closed <details>: one click to open, a second to confirm.
    details = re.search(r'<details class="govuk-details accord-destroy">(.*?)</details>', html, re.S)
    assert details and f'action="{action}"' in details.group(1)
    assert "cannot be undone" in details.group(1)
    assert not re.search(r"\son[a-z]+=", html)


def test_partner_reader_and_member_without_the_author_role_see_no_destroy_step(verified_client, bob, uma, shared):
    document, attachment = shared
    grant_clearance(bob, "official-sensitive")
    action = reverse("sharing:attachment_destroy", args=[attachment.code])
    for user in (bob, uma):
        html = _page(verified_client(user), document)
        assert attachment.filename in html  # they do see the file
        assert action not in html


def test_confirming_destroys_and_returns_to_the_page(
    verified_client, alice, shared, django_capture_on_commit_callbacks
):
    document, attachment = shared
    client = verified_client(alice)
    back = reverse("sharing:document_detail", args=[document.code]) + "#attachments"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sharing:attachment_destroy", args=[attachment.code]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    attachment.refresh_from_db()
    assert attachment.is_destroyed and attachment.wrapped_dek is None
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DESTROYED, target_id=str(attachment.code)).exists()
    html = client.get(back).content.decode()
    assert "was destroyed" in html
    assert reverse("sharing:attachment_download", args=[attachment.code]) not in html


def test_an_offsite_next_is_not_followed(verified_client, alice, shared):
    document, attachment = shared
    response = verified_client(alice).post(
        reverse("sharing:attachment_destroy", args=[attachment.code]), {"next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:document_detail", args=[document.code])


def test_outsider_partner_reader_cannot_destroy(verified_client, bob, shared):
    _, attachment = shared
    grant_clearance(bob, "official-sensitive")
    response = verified_client(bob).post(reverse("sharing:attachment_destroy", args=[attachment.code]), {"next": "/"})
    # A reader of another organisation may read but not edit: 403, and the file survives.
    assert response.status_code == 403
    assert not Attachment.objects.get(pk=attachment.pk).is_destroyed


def test_anonymous_destroy_from_the_page_form_goes_to_sign_in(client, shared):
    _, attachment = shared
    response = client.post(reverse("sharing:attachment_destroy", args=[attachment.code]), {"next": "/"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not Attachment.objects.get(pk=attachment.pk).is_destroyed
