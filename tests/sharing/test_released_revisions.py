"""Releases pin a revision: partners read the revision the originator's release officer approved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sharing.policy import can_read, readable_documents, released_revision
from sharing.services.documents import document_update
from sharing.services.releases import release_approve, release_request
from tests.factories import AttachmentFactory, ReleaseFactory, compartment, login_verified, revise

pytestmark = pytest.mark.django_db


def test_approval_pins_the_revision_the_officer_saw(alice, rita, finding, uk_us_agreement, usaisi):
    document_update(actor=alice, document=finding, body="Second draft")
    [release] = release_request(
        actor=alice, document=finding, agreement=uk_us_agreement, recipients=[usaisi], justification="joint"
    )
    assert release.revision is None
    release_approve(actor=rita, release=release)
    assert release.revision.number == finding.revision == 2


def test_a_partner_reads_the_released_revision_and_the_originator_the_latest(alice, bob, finding, usaisi):
    ReleaseFactory(document=finding, recipient=usaisi)
    revise(finding, body="A later correction")
    assert released_revision(bob, finding).number == 1
    assert released_revision(alice, finding) is None


def test_a_dropped_compartment_does_not_reach_partners_before_approval(bob, finding, usaisi):
    finding.compartments.set([compartment()])
    revise(finding)  # revision 2 carries JOINT-EX-1, and is the one released
    ReleaseFactory(document=finding, recipient=usaisi)
    revise(finding, compartments=[])
    assert not can_read(bob, finding)
    assert not readable_documents(bob).filter(pk=finding.pk).exists()


@pytest.fixture
def released(finding, usaisi, media):
    """The finding, with one attachment, released to the US; then the author writes revision 2."""
    AttachmentFactory(document=finding, filename="early.txt")
    ReleaseFactory(document=finding, recipient=usaisi)
    revise(finding, title="Revised title", body="Secret correction")


def test_the_partner_page_shows_the_released_revision(client, bob, alice, finding, released):
    login_verified(client, bob)
    page = client.get(reverse("sharing:document_detail", args=[finding.code])).content.decode()
    assert "Cyber uplift finding" in page and "early.txt" in page
    assert "Revised title" not in page and "Secret correction" not in page
    client.logout()
    login_verified(client, alice)
    page = client.get(reverse("sharing:document_detail", args=[finding.code])).content.decode()
    assert "Revised title" in page and "Secret correction" in page


def test_the_partner_list_shows_the_released_title_and_summary(client, bob, finding, usaisi):
    ReleaseFactory(document=finding, recipient=usaisi)
    revise(finding, title="Revised title", summary="A newer summary")
    login_verified(client, bob)
    page = client.get(reverse("sharing:document_list")).content.decode()
    assert "Cyber uplift finding" in page
    assert "Revised title" not in page and "A newer summary" not in page


def test_the_partner_home_page_names_the_released_title(client, bob, finding, usaisi):
    ReleaseFactory(document=finding, recipient=usaisi)
    revise(finding, title="Revised title")
    login_verified(client, bob)
    page = client.get(reverse("home")).content.decode()
    assert "Cyber uplift finding" in page and "Revised title" not in page


def test_the_partner_agreement_page_names_the_released_title(client, bob, alice, finding, released):
    release = finding.releases.get()
    login_verified(client, bob)
    page = client.get(reverse("sharing:agreement_detail", args=[release.agreement.code])).content.decode()
    assert "Cyber uplift finding" in page and "Revised title" not in page
    client.logout()
    login_verified(client, alice)
    page = client.get(reverse("sharing:agreement_detail", args=[release.agreement.code])).content.decode()
    assert "Revised title" in page
