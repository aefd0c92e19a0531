"""Marking is chosen, never defaulted; the originator's country is shown fixed in the
releasability; and each reader sees tiers in their own country's words wherever a tier is named
(the marking form, the tier filter, the clearance card), as the banners already do."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sharing.models import Document
from tests.factories import DocumentFactory, PersonFactory, tier

pytestmark = pytest.mark.django_db


def options(html: str, select_name: str) -> list[tuple[str, bool]]:
    """[(label, selected)] of the named select's options."""
    select = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [
        (label.strip(), "selected" in attrs) for attrs, label in re.findall(r"<option([^>]*)>([^<]*)</option>", select)
    ]


def test_a_new_finding_starts_with_no_tier_chosen_and_refuses_to_save_without_one(verified_client, alice):
    client = verified_client(alice)
    page = client.get(reverse("sharing:document_create")).content.decode()
    assert options(page, "tier")[0] == ("Choose a tier", True)
    response = client.post(reverse("sharing:document_create"), {"title": "Unmarked", "releasable_to": []})
    assert response.status_code == 200
    assert "Choose a tier: every finding is marked" in response.content.decode()
    assert not Document.objects.filter(title="Unmarked").exists()


def test_an_edit_keeps_its_tier_and_offers_no_empty_choice(verified_client, alice):
    document = DocumentFactory(author=alice, tier="official-sensitive")
    page = verified_client(alice).get(reverse("sharing:document_edit", args=[document.code])).content.decode()
    tiers = options(page, "tier")
    assert "Choose a tier" not in [label for label, _ in tiers]
    assert ("OFFICIAL-SENSITIVE", True) in tiers


def test_the_originators_country_is_shown_ticked_and_cannot_be_taken_off(verified_client, alice, usaisi):
    client = verified_client(alice)
    page = client.get(reverse("sharing:document_create")).content.decode()
    fixed = re.search(r'<input[^>]*value="GBR"[^>]*>', page).group(0)
    assert "checked" in fixed and "disabled" in fixed and 'name="releasable_to"' not in fixed
    assert "(always included)" in page
    client.post(
        reverse("sharing:document_create"), {"title": "Home only", "tier": tier("official").pk, "releasable_to": []}
    )
    document = Document.objects.get(title="Home only")
    assert list(document.releasable_to.values_list("pk", flat=True)) == ["GBR"]


def test_a_us_reader_filters_by_tier_in_us_words(verified_client, bob, alice):
    us_page = verified_client(bob).get(reverse("sharing:document_list")).content.decode()
    assert "CUI" in [label for label, _ in options(us_page, "tier")]
    assert "OFFICIAL-SENSITIVE" not in [label for label, _ in options(us_page, "tier")]
    uk_page = verified_client(alice).get(reverse("sharing:document_list")).content.decode()
    assert "OFFICIAL-SENSITIVE" in [label for label, _ in options(uk_page, "tier")]


def test_the_clearance_card_names_the_clearance_in_the_readers_words(verified_client, bob):
    page = verified_client(bob).get(reverse("home")).content.decode()
    assert "Cleared to CUI" in page


def test_the_clearance_card_does_not_imply_a_clearance_to_someone_without_one(verified_client, usaisi):
    uncleared = PersonFactory(organisation=usaisi)
    page = verified_client(uncleared).get(reverse("home")).content.decode()
    assert "You hold no clearance" in page
    assert "No clearance ends" not in page and "Cleared to" not in page
