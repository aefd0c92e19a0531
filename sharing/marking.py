"""A document's marking as text: the banner at the top and bottom of a page, and portion marks.

The banner reads `TIER // RELEASABILITY // COMPARTMENTS // CAVEATS`, for example
`OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1` or `SECRET // GBR EYES ONLY // ORCON`.

- The tier is shown in the viewer's country's own word for it (`Tier.labels`), so a US reader
  sees `CUI` where a UK reader sees `OFFICIAL-SENSITIVE`.
- Releasability follows the allied (CAPCO) convention: `USA` first, then the other trigraphs in
  alphabetical order. A marking releasable only to its originator's country is
  `<COUNTRY> EYES ONLY`.
- Compartments are joined by `/`, caveats likewise, each in capitals.

A `Marking` can be built from a saved document (`marking_of`) or from a revision snapshot
(`marking_from_snapshot`), so the history can say "marking changed from X to Y" with the same
words the banner used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accounts.models import Tier

SEPARATOR = " // "
# Allied releasability lists put the United States first, then the rest alphabetically.
LEAD_COUNTRY = "USA"


@dataclass(frozen=True)
class Marking:
    """The marking of one document, or the combined (highest) marking of several."""

    tier: Tier
    releasable_to: frozenset[str]
    compartments: frozenset[str] = frozenset()
    caveats: frozenset[str] = frozenset()
    originator_country: str | None = None

    @property
    def colour(self) -> str:
        return self.tier.colour

    @property
    def is_eyes_only(self) -> bool:
        return len(self.releasable_to) == 1

    def tier_label(self, country: str | None = None) -> str:
        return self.tier.label_for(country)

    def releasability(self) -> str:
        if not self.releasable_to:
            # Only a combination of eyes-only markings of different countries gets here; no
            # single reader could hold them all, but the banner must still err on caution.
            return "NOT RELEASABLE"
        if self.is_eyes_only:
            return f"{next(iter(self.releasable_to))} EYES ONLY"
        return "REL TO " + ", ".join(ordered_countries(self.releasable_to))

    def banner(self, country: str | None = None) -> str:
        """The banner text, with the tier in `country`'s words (the tier's own name by default)."""
        parts = [self.tier_label(country), self.releasability()]
        if self.compartments:
            parts.append("/".join(sorted(c.upper() for c in self.compartments)))
        if self.caveats:
            parts.append("/".join(sorted(c.upper() for c in self.caveats)))
        return SEPARATOR.join(parts)

    def portion(self, country: str | None = None) -> str:
        """The short mark put before a paragraph or title, e.g. `(OS//REL TO USA, GBR//ORCON)`."""
        parts = [tier_abbreviation(self.tier_label(country)), self.releasability()]
        if self.compartments:
            parts.append("/".join(sorted(c.upper() for c in self.compartments)))
        if self.caveats:
            parts.append("/".join(sorted(c.upper() for c in self.caveats)))
        return "(" + "//".join(parts) + ")"

    def as_snapshot(self) -> dict:
        """The JSON form kept in a revision snapshot: tier, country and compartment codes, caveat labels."""
        return {
            "tier": self.tier.code,
            "releasable_to": sorted(self.releasable_to),
            "compartments": sorted(self.compartments),
            "caveats": sorted(self.caveats),
            "originator_country": self.originator_country,
        }

    def __str__(self) -> str:
        return self.banner()


def ordered_countries(codes: Iterable[str]) -> list[str]:
    return sorted(set(codes), key=lambda code: (code != LEAD_COUNTRY, code))


def tier_abbreviation(label: str) -> str:
    """`OFFICIAL-SENSITIVE` → `OS`, `SECRET` → `S`, `TOP SECRET` → `TS`; short words (`CUI`) stay."""
    words = [w for w in re.split(r"[\s\-]+", label.strip()) if w]
    if len(words) == 1 and len(words[0]) <= 4:
        return words[0].upper()
    return "".join(w[0] for w in words).upper()


def marking_of(document) -> Marking:
    """The marking of a saved document.

    Uses prefetched relations when present, so a list built with
    `selectors.with_marking(queryset)` costs no query per row.
    """
    shown = getattr(document, "shown_revision", None)
    if shown is not None:
        # A partner reads the released revision (policy.document_for_reader): its marking is the page's.
        return marking_from_snapshot(shown.snapshot, {shown.tier.code: shown.tier})
    originator_country = document.originator.country_id
    releasable = {c.code for c in document.releasable_to.all()}
    # The originator's country is always in the marking, whatever an old row says.
    releasable.add(originator_country)
    return Marking(
        tier=document.tier,
        releasable_to=frozenset(releasable),
        compartments=frozenset(c.code for c in document.compartments.all()),
        caveats=frozenset(c.label for c in document.caveats.all()),
        originator_country=originator_country,
    )


def marking_from_snapshot(snapshot: Mapping, tiers: Mapping[str, Tier]) -> Marking:
    """Rebuild a marking from a revision snapshot; `tiers` maps tier codes to tiers."""
    data = snapshot["marking"]
    return Marking(
        tier=tiers[data["tier"]],
        releasable_to=frozenset(data["releasable_to"]),
        compartments=frozenset(data["compartments"]),
        caveats=frozenset(data["caveats"]),
        originator_country=data.get("originator_country"),
    )


def highest_marking(markings: Iterable[Marking]) -> Marking | None:
    """The marking that covers every one given, for the banner of a page showing them all.

    Highest tier, releasable only where every one is releasable, every compartment and every
    caveat. None when there is nothing to mark.
    """
    markings = list(markings)
    if not markings:
        return None
    tier = max((m.tier for m in markings), key=lambda t: t.rank)
    releasable = frozenset.intersection(*(m.releasable_to for m in markings))
    countries = {m.originator_country for m in markings}
    return Marking(
        tier=tier,
        releasable_to=releasable,
        compartments=frozenset().union(*(m.compartments for m in markings)),
        caveats=frozenset().union(*(m.caveats for m in markings)),
        originator_country=countries.pop() if len(countries) == 1 else None,
    )


def highest_marking_of(documents: Iterable) -> Marking | None:
    """`highest_marking` over documents (prefetch with `selectors.with_marking`)."""
    return highest_marking(marking_of(d) for d in documents)


def describe_change(before: Marking | None, after: Marking, country: str | None = None) -> str:
    """The sentence a revision history shows for a marking change."""
    if before is None:
        return f"Marked {after.banner(country)}"
    return f"Marking changed from {before.banner(country)} to {after.banner(country)}"


@dataclass(frozen=True)
class MarkingChange:
    """One aspect of a marking that differs between two markings, in the banner's words.

    `lowers` is True when the change lets more people read: a lower tier, a compartment or a
    caveat dropped, a country added to the releasability. Those need a second person.
    """

    aspect: str
    before: str
    after: str
    lowers: bool


def _codes(values: Iterable[str]) -> str:
    return ", ".join(sorted(v.upper() for v in values)) or "none"


def marking_changes(before: Marking, after: Marking, country: str | None = None) -> list[MarkingChange]:
    """What differs between two markings, tier first, then compartments, caveats, releasability."""
    changes = []
    if before.tier.pk != after.tier.pk:
        changes.append(
            MarkingChange(
                "Tier", before.tier_label(country), after.tier_label(country), after.tier.rank < before.tier.rank
            )
        )
    for aspect, old, new in (
        ("Compartments", before.compartments, after.compartments),
        ("Caveats", before.caveats, after.caveats),
    ):
        if old != new:
            changes.append(MarkingChange(aspect, _codes(old), _codes(new), bool(old - new)))
    if before.releasable_to != after.releasable_to:
        changes.append(
            MarkingChange(
                "Releasability",
                before.releasability(),
                after.releasability(),
                bool(after.releasable_to - before.releasable_to),
            )
        )
    return changes


def is_downgrade(before: Marking, after: Marking) -> bool:
    """Does going from `before` to `after` let anyone read who could not (the two-person rule)?"""
    return any(change.lowers for change in marking_changes(before, after))


def raised_part(before: Marking, requested: Marking) -> Marking:
    """What of `requested` takes effect at once: every raise, none of the lowering (the higher
    tier, every compartment and caveat of either, only the countries both allow). When it is not
    `requested` itself, the rest waits for a second person (`is_downgrade`)."""
    tier = requested.tier if requested.tier.rank >= before.tier.rank else before.tier
    return Marking(
        tier=tier,
        releasable_to=before.releasable_to & requested.releasable_to,
        compartments=before.compartments | requested.compartments,
        caveats=before.caveats | requested.caveats,
        originator_country=before.originator_country,
    )
