"""Banner text and portion marks, exactly as they appear on pages."""

from __future__ import annotations

import pytest

from sharing.marking import (
    Marking,
    describe_change,
    highest_marking,
    highest_marking_of,
    marking_from_snapshot,
    marking_of,
    ordered_countries,
    tier_abbreviation,
)
from sharing.models import Document
from sharing.selectors import with_marking
from tests.factories import ReadInFactory, caveat, compartment, countries, tier
from tests.sharing.documents_support import new_document

pytestmark = pytest.mark.django_db


def mark(tier_code: str, releasable: set[str], compartments=(), caveats=(), originator="GBR") -> Marking:
    return Marking(
        tier=tier(tier_code),
        releasable_to=frozenset(releasable),
        compartments=frozenset(compartments),
        caveats=frozenset(caveats),
        originator_country=originator,
    )


@pytest.mark.parametrize(
    "marking, banner",
    [
        (
            lambda: mark("official-sensitive", {"GBR", "USA"}, ["joint-ex-1"]),
            "OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1",
        ),
        (lambda: mark("secret", {"GBR"}), "SECRET // GBR EYES ONLY"),
        (lambda: mark("secret", {"USA"}, originator="USA"), "SECRET // USA EYES ONLY"),
        (lambda: mark("official", {"GBR", "USA", "CAN", "AUS"}), "OFFICIAL // REL TO USA, AUS, CAN, GBR"),
        (
            lambda: mark("official-sensitive", {"GBR", "USA"}, caveats=["ORCON"]),
            "OFFICIAL-SENSITIVE // REL TO USA, GBR // ORCON",
        ),
        (
            lambda: mark("secret", {"GBR"}, ["joint-ex-1", "cbrn-stream"], ["ORCON"]),
            "SECRET // GBR EYES ONLY // CBRN-STREAM/JOINT-EX-1 // ORCON",
        ),
        (lambda: mark("official", {"GBR", "CAN"}), "OFFICIAL // REL TO CAN, GBR"),
    ],
    ids=["rel-compartment", "gbr-eyes-only", "usa-eyes-only", "usa-first", "orcon", "everything", "no-usa"],
)
def test_banner_text(marking, banner):
    marking = marking()
    assert marking.banner() == banner
    assert str(marking) == banner


def test_banner_uses_the_viewers_country_word_for_the_tier():
    marking = mark("official-sensitive", {"GBR", "USA"}, ["joint-ex-1"])
    assert marking.banner("USA") == "CUI // REL TO USA, GBR // JOINT-EX-1"
    assert marking.banner("GBR") == "OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1"
    assert mark("official", {"GBR", "USA"}).banner("USA") == "UNCLASSIFIED // REL TO USA, GBR"
    # No local word for SECRET: the tier's own name.
    assert mark("secret", {"GBR"}).banner("USA") == "SECRET // GBR EYES ONLY"


@pytest.mark.parametrize(
    "marking, country, portion",
    [
        (lambda: mark("official-sensitive", {"GBR", "USA"}, ["joint-ex-1"]), None, "(OS//REL TO USA, GBR//JOINT-EX-1)"),
        (lambda: mark("official-sensitive", {"GBR", "USA"}), "USA", "(CUI//REL TO USA, GBR)"),
        (lambda: mark("official", {"GBR", "USA"}), "USA", "(U//REL TO USA, GBR)"),
        (lambda: mark("secret", {"GBR"}, caveats=["ORCON"]), None, "(S//GBR EYES ONLY//ORCON)"),
    ],
)
def test_portion_marks(marking, country, portion):
    assert marking().portion(country) == portion


@pytest.mark.parametrize(
    "label, short",
    [
        ("OFFICIAL", "O"),
        ("OFFICIAL-SENSITIVE", "OS"),
        ("SECRET", "S"),
        ("TOP SECRET", "TS"),
        ("CUI", "CUI"),
        ("UNCLASSIFIED", "U"),
    ],
)
def test_tier_abbreviation(label, short):
    assert tier_abbreviation(label) == short


def test_country_order_puts_usa_first_then_alphabetical():
    assert ordered_countries(["NZL", "GBR", "USA", "AUS", "CAN"]) == ["USA", "AUS", "CAN", "GBR", "NZL"]


def test_colour_is_the_tiers():
    assert mark("secret", {"GBR"}).colour == tier("secret").colour


def test_marking_of_a_saved_document(sam):
    author = sam
    joint = compartment("joint-ex-1")
    ReadInFactory(user=author, compartment=joint)
    document = new_document(
        author,
        tier=tier("official-sensitive"),
        compartments=[joint],
        caveats=[caveat("orcon")],
        releasable_to=countries("USA"),
    )
    marking = marking_of(document)
    assert marking.banner() == "OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1 // ORCON"
    assert marking.originator_country == "GBR"
    assert (
        marking_from_snapshot({"marking": marking.as_snapshot()}, {t.code: t for t in [tier("official-sensitive")]})
        == marking
    )


def test_marking_of_includes_the_originator_country_even_if_the_row_lost_it(alice):
    document = new_document(alice, releasable_to=countries("USA"))
    document.releasable_to.set(countries("USA"))  # a row written around the service
    assert marking_of(document).banner() == "OFFICIAL // REL TO USA, GBR"


def test_highest_marking_covers_every_document():
    combined = highest_marking(
        [
            mark("official", {"GBR", "USA", "CAN"}),
            mark("secret", {"GBR", "USA"}, ["cbrn-stream"]),
            mark("official-sensitive", {"GBR", "USA"}, ["joint-ex-1"], ["ORCON"]),
        ]
    )
    assert combined.banner() == "SECRET // REL TO USA, GBR // CBRN-STREAM/JOINT-EX-1 // ORCON"
    assert combined.originator_country == "GBR"


def test_highest_marking_with_one_eyes_only_is_eyes_only():
    combined = highest_marking([mark("official", {"GBR", "USA"}), mark("official", {"GBR"})])
    assert combined.banner() == "OFFICIAL // GBR EYES ONLY"


def test_highest_marking_of_disjoint_eyes_only_is_not_releasable():
    combined = highest_marking([mark("official", {"GBR"}), mark("official", {"USA"}, originator="USA")])
    assert combined.banner() == "OFFICIAL // NOT RELEASABLE"
    assert combined.originator_country is None


def test_highest_marking_of_nothing_is_none():
    assert highest_marking([]) is None
    assert highest_marking_of([]) is None


def test_highest_marking_of_a_list_costs_the_same_for_any_length(sam, django_assert_num_queries):
    for n in range(6):
        new_document(sam, title=f"Finding {n}", tier=tier("secret" if n == 3 else "official"))
    # 1 documents with tier, originator and author; 4 prefetches: releasable_to, compartments,
    # caveats, risk_domains.
    with django_assert_num_queries(5):
        combined = highest_marking_of(with_marking(Document.objects.all()))
    assert combined.banner() == "SECRET // REL TO USA, GBR"


def test_describe_change():
    before = mark("official", {"GBR", "USA"})
    after = mark("secret", {"GBR"})
    assert (
        describe_change(before, after) == "Marking changed from OFFICIAL // REL TO USA, GBR to SECRET // GBR EYES ONLY"
    )
    assert describe_change(None, after) == "Marked SECRET // GBR EYES ONLY"
