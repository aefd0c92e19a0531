"""Reads of secondments, narrowed to who may see them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from accounts.roles import Role, organisations_where

from .models import Secondment


def administered_ids(user: Any) -> set[int]:
    """The organisations `user` administers now (none while acting for a host)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(organisations_where(user, Role.ORG_ADMIN).values_list("pk", flat=True))


def secondments_of_organisations(organisation_ids: Iterable[int]) -> QuerySet[Secondment]:
    """Every secondment from or to these organisations: both sides' admins see each."""
    ids = list(organisation_ids)
    return Secondment.objects.filter(Q(home_id__in=ids) | Q(host_id__in=ids))


def visible_secondments(user: Any) -> QuerySet[Secondment]:
    """What `user` may see: their own secondments, and those from or to an organisation they
    administer."""
    if not getattr(user, "is_authenticated", False):
        return Secondment.objects.none()
    return Secondment.objects.filter(
        Q(person_id=user.pk) | Q(home_id__in=administered_ids(user)) | Q(host_id__in=administered_ids(user))
    )


def readable_secondment_codes(user: Any, codes: set[uuid.UUID]) -> list[uuid.UUID]:
    return list(visible_secondments(user).filter(code__in=codes).values_list("code", flat=True))


def active_secondments_of(user: Any, when: datetime) -> QuerySet[Secondment]:
    return Secondment.objects.active_at(when).filter(person_id=user.pk)


def counterparts(user: Any, when: datetime) -> set[int]:
    """The home and host of every secondment of `user` active at `when`."""
    found: set[int] = set()
    for home, host in active_secondments_of(user, when).values_list("home_id", "host_id"):
        found |= {home, host}
    return found


def current_and_past(secondments: QuerySet[Secondment], when: datetime) -> tuple[list, list]:
    """(not yet over: proposed, upcoming and running; over: ended early or past their end)."""
    rows = list(secondments.select_related("person", "home", "host", "agreement", "clearance"))
    over = [s for s in rows if s.status == Secondment.Status.ENDED or s.ends_at <= when]
    return [s for s in rows if s not in over], over
