"""One identity, two affiliations: a secondee acting for the organisation that hosts them.

A secondment (the `exchanges` app, above this one) lets a person of one institute (home) work
inside another (host) for a bounded time. While they act for the host, the request's user is
*presented* as a member of the host: `organisation_id` is the host's, the roles are the one the
secondment gives at the host, the clearance is the host's grant for the secondment capped by the
home's own, and the read-ins are only those to compartments the host owns. Every gate reads the
user through these, so the whole policy follows without a second copy of any rule:

| what the gates read            | acting for the host                                      |
|--------------------------------|----------------------------------------------------------|
| `user.organisation_id`         | the host                                                 |
| `roles.has_role`               | author on the host for an analyst; nothing else, nowhere |
| `models.clearance_of`          | min(host's secondment tier, the home's grants now)       |
| read-ins (`read_ins_of`)       | only compartments the host owns                          |
| `sharing.policy` partner gate  | partner material only under an agreement allowing it     |

The presentation is made per request by `exchanges.middleware`, only while the secondment is
active at that second; nothing is stored on the account: `User.save` writes the home
organisation back whatever the instance shows.

This module knows no app above `accounts`; `exchanges` fills the one registry here
(`register_counterparts`), so the sharing gates learn, without importing it, between which
organisations a person may not carry material.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from .models import ACTING_FOR_HOST as _ATTRIBUTE
from .models import Organisation, ReadIn, Tier


@dataclass(frozen=True)
class HostAffiliation:
    """What a secondee acting for the host is, for this request."""

    secondment_code: str
    home: Organisation
    host: Organisation
    role: str  # "analyst" (writes at the host) or "reviewer" (reads)
    clearance: Tier  # the host's grant for the secondment, before the home's cap
    ends_at: datetime

    @property
    def writes(self) -> bool:
        return self.role == "analyst"


def acting_for_host(user: Any) -> HostAffiliation | None:
    """The host affiliation `user` acts under in this request, or None (acting for home)."""
    return getattr(user, _ATTRIBUTE, None)


def present_as_host_member(user: Any, affiliation: HostAffiliation) -> None:
    """Make the request's `user` read as a member of the host (see the module docstring).

    Only on the request's own instance: the row keeps the home organisation (`User.save`)."""
    user.home_organisation_id = user.organisation_id
    setattr(user, _ATTRIBUTE, affiliation)
    user.organisation = affiliation.host


def read_ins_of(user: Any, when) -> QuerySet[ReadIn]:
    """The read-ins valid at `when` that count for `user` in this request: acting for the host,
    only those to compartments the host owns (a home read-in never opens host material, nor a
    host read-in home material)."""
    rows = ReadIn.objects.valid_at(when).filter(user_id=user.pk)
    affiliation = acting_for_host(user)
    if affiliation is not None:
        rows = rows.filter(compartment__owner_id=affiliation.host.pk)
    return rows


# (user, now) -> the organisations between which `user` is seconded at `now` (home and host of
# every active secondment); filled by `exchanges` in its AppConfig.ready().
Counterparts = Callable[[Any, datetime], set[int]]
_counterparts: list[Counterparts] = []


def register_counterparts(source: Counterparts) -> None:
    _counterparts[:] = [source]


def secondment_counterparts(user: Any, when: datetime) -> set[int]:
    """The organisations other than the one `user` acts for now that `user` is seconded between
    at `when`: material may not cross to them by this person's hand, in either direction."""
    if not _counterparts or getattr(user, "pk", None) is None:
        return set()
    found = _counterparts[0](user, when)
    return found - {getattr(user, "organisation_id", None)}
