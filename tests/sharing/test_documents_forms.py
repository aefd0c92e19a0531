"""The authoring form offers only markings its author could apply, and feeds the services."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Country
from demo.documents import seed_documents
from sharing.forms import DocumentForm, WithdrawForm
from sharing.marking import marking_of
from sharing.models import Document
from sharing.selectors import revision_history
from sharing.services import document_create, document_update
from tests.factories import PersonFactory, ReadInFactory, compartment, tier
from tests.sharing.documents_support import new_document

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    data = {"title": "A finding", "summary": "", "body": "Text", "tier": str(tier("official").pk)}
    data.update(overrides)
    return data


def test_tier_choices_stop_at_the_authors_clearance(alice):
    form = DocumentForm(author=alice)
    assert [t.code for t in form.fields["tier"].queryset] == ["official", "official-sensitive"]


def test_compartment_choices_are_the_authors_current_read_ins(alice):
    joint, cbrn, old = compartment("joint-ex-1"), compartment("cbrn-stream"), compartment("old-ex")
    ReadInFactory(user=alice, compartment=joint)
    ReadInFactory(user=alice, compartment=old, revoked_at=timezone.now())
    assert cbrn.pk
    form = DocumentForm(author=alice)
    assert list(form.fields["compartments"].queryset) == [joint]


def test_a_posted_tier_above_clearance_is_not_a_valid_choice(alice):
    form = DocumentForm(form_data(tier=str(tier("secret").pk)), author=alice)
    assert not form.is_valid()
    assert "tier" in form.errors


def test_a_posted_compartment_not_read_in_is_not_a_valid_choice(alice):
    form = DocumentForm(form_data(compartments=[str(compartment("cbrn-stream").pk)]), author=alice)
    assert not form.is_valid()
    assert "compartments" in form.errors


def test_originator_country_is_offered_preticked_and_always_included(alice, usaisi):
    form = DocumentForm(author=alice)
    assert form.initial["releasable_to"] == ["GBR"]
    assert {c.code for c in form.fields["releasable_to"].queryset} == {"GBR", "USA"}
    bound = DocumentForm(form_data(releasable_to=["USA"]), author=alice)
    assert bound.is_valid(), bound.errors
    assert {c.code for c in bound.cleaned_data["releasable_to"]} == {"GBR", "USA"}


def test_a_country_without_a_partner_organisation_is_not_offered(alice):
    form = DocumentForm(form_data(releasable_to=["PRK"]), author=alice)
    assert Country.objects.filter(code="PRK").exists()
    assert not form.is_valid()
    assert "releasable_to" in form.errors


def test_cleaned_data_creates_and_edits_through_the_services(alice, usaisi):
    form = DocumentForm(form_data(releasable_to=["USA"], tier=str(tier("official-sensitive").pk)), author=alice)
    assert form.is_valid(), form.errors
    document = document_create(actor=alice, **form.cleaned_data)
    assert marking_of(document).banner() == "OFFICIAL-SENSITIVE // REL TO USA, GBR"

    edit = DocumentForm(author=alice, document=document)
    assert edit.initial["title"] == "A finding"
    assert edit.fields["base_revision"].initial == 1
    data = form_data(title="A better title", releasable_to=["USA"], tier=str(tier("official-sensitive").pk))
    bound = DocumentForm({**data, "base_revision": "1"}, author=alice, document=document)
    assert bound.is_valid(), bound.errors
    updated = document_update(actor=alice, document=document, **bound.cleaned_data)
    assert updated.revision == 2
    assert updated.revisions.get(number=2).changed_fields == ["title"]


def test_validating_an_edit_form_does_not_touch_the_document(alice):
    document = new_document(alice)
    form = DocumentForm(form_data(title="Changed in the form only", base_revision="1"), author=alice, document=document)
    assert form.is_valid()
    assert document.title == "Tool-use uplift on Frontier-7"


def test_withdraw_form_needs_a_reason():
    assert not WithdrawForm({"reason": ""}).is_valid()
    assert WithdrawForm({"reason": "Superseded"}).is_valid()


def test_demo_documents_cover_every_tier_and_marking(ukasi, usaisi):
    uk = PersonFactory(organisation=ukasi, roles=["author"], clearance="secret", email="demo-uk@example.org")
    us = PersonFactory(organisation=usaisi, roles=["author"], clearance="secret", email="demo-us@example.org")

    created = seed_documents(uk_author=uk, us_author=us)

    documents = Document.objects.all()
    assert len(created) == documents.count() == 8
    assert {d.tier.code for d in documents} == {"official", "official-sensitive", "secret"}
    banners = {marking_of(d).banner() for d in documents}
    assert "SECRET // GBR EYES ONLY" in banners
    assert "OFFICIAL-SENSITIVE // USA EYES ONLY" in banners
    assert "OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1" in banners
    assert "OFFICIAL-SENSITIVE // REL TO USA, CAN, GBR // ORCON" in banners
    assert "SECRET // REL TO USA, GBR // CBRN" in banners
    assert set(documents.values_list("status", flat=True)) == {"draft", "published", "withdrawn"}
    withdrawn = documents.get(status="withdrawn")
    assert [e.marking_change() for e in revision_history(withdrawn) if e.marking_changed] == [
        "Marking changed from OFFICIAL // REL TO USA, GBR to OFFICIAL-SENSITIVE // REL TO USA, GBR // ORCON"
    ]
    # Seeding again adds nothing.
    assert seed_documents(uk_author=uk, us_author=us) == []
    assert Document.objects.count() == 8


def test_demo_needs_a_cleared_author(alice):
    with pytest.raises(ValueError, match="clearance at the highest tier"):
        seed_documents(uk_author=alice)
    assert Document.objects.count() == 0
