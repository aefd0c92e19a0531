"""The factories return the rows they store: a test that compares a factory's object with what
a page or an event names must not be comparing two different things."""

from __future__ import annotations

import pytest

from sharing.models import Document, DocumentRevision
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "marking",
    [
        {"tier": "official"},
        {"tier": "secret", "releasable_to": ["USA"]},
        {"compartments": ["cbrn"], "caveats": ["orcon"]},
        {"status": Document.Status.DRAFT},
        {"revisions": 3},
    ],
    ids=["tier", "tier and releasability", "compartment and caveat", "draft", "three revisions"],
)
def test_document_factory_returns_the_stored_row_with_its_marking(alice, marking):
    made = DocumentFactory(author=alice, title="Stored as returned", **marking)
    stored = Document.objects.get(title="Stored as returned")
    assert (made.pk, made.code, made.tier_id, made.status, made.revision) == (
        stored.pk,
        stored.code,
        stored.tier_id,
        stored.status,
        stored.revision,
    )
    assert set(made.releasable_to.all()) == set(stored.releasable_to.all())
    assert set(made.compartments.all()) == set(stored.compartments.all())
    latest = DocumentRevision.objects.get(document=stored, number=stored.revision)
    assert latest.tier_id == stored.tier_id
    assert set(latest.releasable_to.all()) == set(stored.releasable_to.all())
