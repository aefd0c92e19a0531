"""Writing, editing, publishing and withdrawing a finding through the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from sharing.models import Document
from tests.factories import DocumentFactory, tier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def partner(usaisi):
    """A US institute, so USA is among the countries a marking may name."""
    return usaisi


def _form(**overrides):
    data = {
        "title": "Refusal bypass through tool output",
        "summary": "Short.",
        "body": "# Heading\n\nText.",
        "tier": str(tier("official-sensitive").pk),
        "releasable_to": ["USA"],
    }
    data.update(overrides)
    return data


def test_author_writes_a_draft(verified_client, alice):
    response = verified_client(alice).post(reverse("sharing:document_create"), _form())
    document = Document.objects.get(title="Refusal bypass through tool output")
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:document_detail", args=[document.code])
    assert document.status == Document.Status.DRAFT
    assert set(document.releasable_to.values_list("code", flat=True)) == {"GBR", "USA"}
    assert AuditEvent.objects.filter(action=Action.DOCUMENT_CREATED, actor_id=alice.pk).exists()


def test_marking_picker_offers_only_what_the_author_may_apply(verified_client, alice):
    html = verified_client(alice).get(reverse("sharing:document_create")).content.decode()
    assert ">OFFICIAL-SENSITIVE</option>" in html
    assert ">SECRET</option>" not in html


def test_a_tier_above_clearance_is_refused_with_a_clear_error(verified_client, alice):
    response = verified_client(alice).post(reverse("sharing:document_create"), _form(tier=str(tier("secret").pk)))
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and 'href="#id_tier"' in html
    assert not Document.objects.exists()


def test_missing_title_is_shown_in_the_error_summary_and_saves_nothing(verified_client, alice):
    response = verified_client(alice).post(reverse("sharing:document_create"), _form(title=""))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_title"' in html and "govuk-input--error" in html
    assert not Document.objects.exists()


def test_error_summary_links_a_checkbox_group_to_its_first_box(verified_client, alice):
    html = (
        verified_client(alice).post(reverse("sharing:document_create"), _form(releasable_to=["XXX"])).content.decode()
    )
    assert 'href="#id_releasable_to_0"' in html and 'id="id_releasable_to_0"' in html


def test_edit_saves_a_new_revision(verified_client, alice):
    client = verified_client(alice)
    client.post(reverse("sharing:document_create"), _form())
    document = Document.objects.get()
    page = client.get(reverse("sharing:document_edit", args=[document.code])).content.decode()
    assert 'value="Refusal bypass through tool output"' in page
    response = client.post(
        reverse("sharing:document_edit", args=[document.code]),
        _form(title="Refusal bypass, revised", base_revision=str(document.revision)),
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.title == "Refusal bypass, revised"
    assert document.revision == 2
    detail = client.get(reverse("sharing:document_detail", args=[document.code])).content.decode()
    assert "Revision 2" in detail


def test_publish_and_withdraw(verified_client, alice):
    client = verified_client(alice)
    document = DocumentFactory(author=alice, status=Document.Status.DRAFT)
    client.post(reverse("sharing:document_publish", args=[document.code]))
    document.refresh_from_db()
    assert document.status == Document.Status.PUBLISHED
    # Withdrawal needs a reason: without one nothing changes.
    client.post(reverse("sharing:document_withdraw", args=[document.code]), {"reason": ""})
    document.refresh_from_db()
    assert document.status == Document.Status.PUBLISHED
    client.post(reverse("sharing:document_withdraw", args=[document.code]), {"reason": "superseded"})
    document.refresh_from_db()
    assert document.status == Document.Status.WITHDRAWN


def test_upload_page_points_at_the_streaming_upload_endpoint(verified_client, alice, settings):
    document = DocumentFactory(author=alice, status=Document.Status.DRAFT)
    html = verified_client(alice).get(reverse("sharing:document_attachments", args=[document.code])).content.decode()
    assert f'data-upload-url="{reverse("sharing:attachment_upload", args=[document.code])}"' in html
    assert f'data-max-bytes="{settings.ACCORD_ATTACHMENT_MAX_BYTES}"' in html
    assert "js/upload.js" in html
