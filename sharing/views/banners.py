"""Classification banners and portion marks for the pages that show marked content.

A page's banner reads the highest marking on it: the highest tier, releasable only to the
countries every item on the page is releasable to, every compartment and every caveat of any
item. Tier names are shown in the viewer's country's own words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Tier

# What a queryset must prefetch so marking a page of documents costs a fixed number of queries.
MARKING_SELECT = ("tier", "originator")
MARKING_PREFETCH = ("releasable_to", "compartments", "caveats")


@dataclass(frozen=True)
class Mark:
    tier: Tier
    text: str


def _viewer_country(viewer) -> str | None:
    organisation = getattr(viewer, "organisation", None)
    if organisation is not None:
        return organisation.country_id
    return getattr(viewer, "nationality_id", None)


def _compose(
    *,
    tier: Tier,
    countries: set[str],
    first_country: str | None,
    compartments: set[str],
    caveats: set[str],
    viewer_country: str | None,
) -> str:
    parts = [tier.label_for(viewer_country).upper()]
    if len(countries) == 1:
        parts.append(f"{next(iter(countries))} EYES ONLY")
    elif countries:
        # The originator's country leads, as partners write it; the rest in code order.
        ordered = sorted(countries, key=lambda c: (c != first_country, c))
        parts.append("REL TO " + ", ".join(ordered))
    if compartments:
        parts.append("/".join(sorted(compartments)))
    if caveats:
        parts.append("/".join(sorted(caveats)))
    return " // ".join(parts)


def _components(document) -> tuple[set[str], set[str], set[str]]:
    countries = {c.code for c in document.releasable_to.all()} | {document.originator.country_id}
    compartments = {c.code.upper() for c in document.compartments.all()}
    caveats = {c.label.upper() for c in document.caveats.all()}
    return countries, compartments, caveats


def mark_for(document, viewer) -> Mark:
    """The portion mark of one document, e.g. OFFICIAL-SENSITIVE // REL TO GBR, USA // JOINT-EX-1."""
    countries, compartments, caveats = _components(document)
    text = _compose(
        tier=document.tier,
        countries=countries,
        first_country=document.originator.country_id,
        compartments=compartments,
        caveats=caveats,
        viewer_country=_viewer_country(viewer),
    )
    return Mark(tier=document.tier, text=text)


def banner_for(documents: Iterable, viewer) -> Mark | None:
    """The banner for a page showing `documents`: the highest marking among them (None if empty)."""
    documents = list(documents)
    if not documents:
        return None
    top = max(documents, key=lambda d: d.tier.rank)
    countries: set[str] | None = None
    compartments: set[str] = set()
    caveats: set[str] = set()
    for document in documents:
        doc_countries, doc_compartments, doc_caveats = _components(document)
        countries = doc_countries if countries is None else countries & doc_countries
        compartments |= doc_compartments
        caveats |= doc_caveats
    text = _compose(
        tier=top.tier,
        countries=countries or set(),
        first_country=top.originator.country_id,
        compartments=compartments,
        caveats=caveats,
        viewer_country=_viewer_country(viewer),
    )
    return Mark(tier=top.tier, text=text)


def marked(documents: Iterable, viewer) -> list[tuple[object, Mark]]:
    """Pairs of (document, its portion mark) for a list."""
    return [(document, mark_for(document, viewer)) for document in documents]
