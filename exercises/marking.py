"""The marking of an exercise as the banner words of sharing.marking."""

from __future__ import annotations

from sharing.marking import Marking, highest_marking
from sharing.views.banners import Mark, viewer_country

from .models import Exercise


def marking_of(exercise: Exercise) -> Marking:
    countries = {country.pk for country in exercise.releasable_to.all()}
    countries.add(exercise.lead.country_id)
    return Marking(
        tier=exercise.tier,
        releasable_to=frozenset(countries),
        compartments=frozenset({exercise.compartment.code}),
        originator_country=exercise.lead.country_id,
    )


def banner_for(exercises, viewer) -> Mark | None:
    """The banner of a page showing `exercises`: the highest marking among them."""
    marking = highest_marking(marking_of(exercise) for exercise in exercises)
    if marking is None:
        return None
    return Mark(tier=marking.tier, text=marking.banner(viewer_country(viewer)))
