"""Releases pin a revision: partners read the revision the originator's release officer approved."""

from __future__ import annotations

import pytest

from sharing.policy import can_read, readable_documents, released_revision
from sharing.services.documents import document_update
from sharing.services.releases import release_approve, release_request
from tests.factories import ReleaseFactory, compartment, revise

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
