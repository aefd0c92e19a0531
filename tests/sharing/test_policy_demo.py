from __future__ import annotations

import pytest

from demo.agreements import seed_demo_agreements
from sharing.models import Release, SharingAgreement
from sharing.policy import can_read, readable_documents
from tests.factories import DocumentFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_demo_sharing_world(ukasi, usaisi, alice, bob, rita, portal_admin):
    shareable = DocumentFactory(author=alice, title="Shareable", releasable_to=["USA"])
    eyes_only = DocumentFactory(author=alice, title="UK eyes only", releasable_to=["GBR"])
    secret = DocumentFactory(author=alice, tier="secret", title="Secret", releasable_to=["USA"])
    orcon = DocumentFactory(author=alice, caveats=["orcon"], title="Orcon", releasable_to=["USA"])
    kwargs = {
        "portal_admin": portal_admin,
        "uk": ukasi,
        "us": usaisi,
        "uk_signatory": PersonFactory(organisation=ukasi),
        "us_signatory": PersonFactory(organisation=usaisi),
        "uk_release_officer": rita,
        "documents": [shareable, eyes_only, secret, orcon],
    }
    demo = seed_demo_agreements(**kwargs)
    assert demo.agreement.status == SharingAgreement.Status.ACTIVE
    assert {r.document for r in demo.releases} == {shareable, orcon}
    assert set(demo.not_released) == {"UK eyes only", "Secret"}
    assert set(readable_documents(bob)) == {shareable, orcon}
    canadian = PersonFactory(organisation=demo.canada, clearance="secret")
    assert not can_read(canadian, shareable)
    # Seeding twice changes nothing.
    again = seed_demo_agreements(**kwargs)
    assert again.agreement == demo.agreement
    assert Release.objects.count() == 2
