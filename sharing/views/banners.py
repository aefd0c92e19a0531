"""Classification banners and portion marks for the pages that show marked content.

The words come from `sharing.marking` (one source for banners, portion marks and the revision
history); this module only decides whose words (the viewer's country's) and which documents a
page's banner covers (every marked item the page shows, at the highest marking among them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Tier
from sharing.marking import highest_marking_of, marking_of

# What a queryset must load so marking a page of documents costs a fixed number of queries
# (the same relations as `sharing.selectors.with_marking`, for querysets reached through a FK).
MARKING_SELECT = ("tier", "originator")
MARKING_PREFETCH = ("releasable_to", "compartments", "caveats")


@dataclass(frozen=True)
class Mark:
    tier: Tier
    text: str


def viewer_country(viewer) -> str | None:
    """Whose words a banner uses: the viewer's organisation's country, else their nationality."""
    organisation = getattr(viewer, "organisation", None)
    if organisation is not None:
        return organisation.country_id
    return getattr(viewer, "nationality_id", None)


def mark_for(document, viewer) -> Mark:
    """The portion mark of one document, e.g. (OS//REL TO USA, GBR//JOINT-EX-1)."""
    marking = marking_of(document)
    return Mark(tier=marking.tier, text=marking.portion(viewer_country(viewer)))


def banner_for(documents: Iterable, viewer) -> Mark | None:
    """The banner for a page showing `documents`: the highest marking among them (None if none)."""
    marking = highest_marking_of(list(documents))
    if marking is None:
        return None
    return Mark(tier=marking.tier, text=marking.banner(viewer_country(viewer)))
