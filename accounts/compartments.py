"""Who may see that a compartment exists, and who may read people in to it.

A compartment is owned by one organisation (`Compartment.owner`). It is listed (read-in and
nomination forms, members pages, any filter or choice of compartments) only to:

- its owner;
- an organisation with a person read in to it now;
- an organisation another app says has a stake in it — `sharing` registers the compartments of
  documents released to an organisation (a registry, because accounts imports no domain app).

Only the owner's admins read people in (`accounts.services.readin_grant`); a partner admin
nominates one of its people, and the owner's admin approves or declines.

A compartment with no owner (none could be inferred when owners were introduced, see migration
0005) is granted by nobody but the system (seed and bootstrap commands) until a portal admin sets
its owner in the Django admin; it is listed only to organisations with people read in or
documents released in it.

A code that names no compartment and a code that names one the asker may not see answer alike:
`compartment_for` records the same denial (gate "compartment", reason "no_such_compartment")
and raises the same 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse

from .models import Compartment, Organisation, ReadIn

# Each source answers, for an organisation, the ids of further compartments it may see.
_SOURCES: list[Callable[[Organisation], Iterable[int] | QuerySet]] = []


def register_compartment_source(source: Callable[[Organisation], Iterable[int] | QuerySet]) -> None:
    """Let an app say which compartments an organisation has a stake in (called from `ready()`)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def visible_to(organisation: Organisation | None) -> QuerySet[Compartment]:
    """The compartments `organisation` may see exist, by code."""
    if organisation is None:
        return Compartment.objects.none()
    read_in = ReadIn.objects.valid_at(timezone.now()).filter(user__organisation=organisation)
    seen = Q(owner=organisation) | Q(pk__in=read_in.values("compartment_id"))
    for source in _SOURCES:
        seen |= Q(pk__in=source(organisation))
    return Compartment.objects.filter(seen).distinct().order_by("code")


def owned_by(organisation: Organisation | None) -> QuerySet[Compartment]:
    """The compartments `organisation` owns: those its admins read people in to."""
    if organisation is None:
        return Compartment.objects.none()
    return Compartment.objects.filter(owner=organisation).order_by("code")


def nominable_by(organisation: Organisation | None) -> QuerySet[Compartment]:
    """The compartments `organisation` may nominate its people for: seen, owned by another."""
    if organisation is None:
        return Compartment.objects.none()
    return visible_to(organisation).exclude(owner=organisation).exclude(owner__isnull=True)


def compartment_for(user, code: str, *, action: str = Action.ACCESS_DENIED) -> Compartment:
    """The compartment `code` if `user`'s organisation may see it; otherwise one audited 404,
    the same for a code that names nothing and one that names a compartment it may not see."""
    code = str(code or "").strip().lower()[:40]
    found = visible_to(getattr(user, "organisation", None)).filter(code=code).first() if code else None
    if found is None:
        refuse(
            user,
            action,
            ("compartment", code, ""),
            Reason.NO_SUCH_COMPARTMENT,
            error=Http404("No such compartment."),
            details={"gate": "compartment"},
        )
    return found
