"""The document list's filter menu (the evaluated models among what a reader may read), cached.

Building it means evaluating the read condition on every document the reader may read (a
distinct over all of them), so it is kept in the cache and rebuilt only when something it
depends on changes:

- what the documents say and who may see them: any write to a document (a receiver in
  `apps.py`) or to the kept visibility (`visibility.keep`) moves one generation number, on
  commit, and every menu built under an older one is ignored;
- who the reader is: the key names the reader (two members of one organisation may read
  different documents, and the menu is itself content), their organisation, nationality, and
  the clearance grants and read-ins that hold now;
- the clock: an entry lives no longer than the next moment a kept row of the organisation, or
  a grant or read-in of the reader, starts or ends, so a rule that ends at a second ends the
  menu's knowledge of it at that second too.

When the cache cannot be reached, or is not shared by every web process (a per-process memory
cache would not see another process retire an entry), the menu is computed, never skipped.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from accounts.models import ClearanceGrant, ReadIn

from .models import Document, Visibility

logger = logging.getLogger(__name__)

GENERATION_KEY = "sharing:visibility-generation"
LONGEST = 300  # seconds: a bound for an entry with no date ahead of it


def bump_generation() -> None:
    """After the current transaction commits, retire every cached menu."""

    def bump() -> None:
        try:
            try:
                cache.incr(GENERATION_KEY)
            except ValueError:  # not there yet (or evicted): any new value retires the old entries
                cache.set(GENERATION_KEY, int(timezone.now().timestamp() * 1e6), None)
        except Exception:  # noqa: BLE001 - a cache outage must not fail the write that committed
            logger.warning("could not retire the cached filter menus", exc_info=True)

    transaction.on_commit(bump)


def _person(user, now: datetime) -> tuple[str, list[datetime]]:
    """A fingerprint of what the reader is now, and the dates ahead at which that changes."""
    grants = ClearanceGrant.objects.filter(
        user_id=user.pk, status=ClearanceGrant.Status.ACTIVE, revoked_at__isnull=True
    ).values_list("pk", "valid_from", "valid_until")
    read_ins = ReadIn.objects.filter(user_id=user.pk, revoked_at__isnull=True).values_list(
        "pk", "granted_at", "expires_at"
    )
    holding, ahead = [], []
    for kind, rows in (("g", grants), ("r", read_ins)):
        for pk, start, end in rows:
            if start <= now and (end is None or end > now):
                holding.append(f"{kind}{pk}")
            ahead += [when for when in (start, end) if when is not None and when > now]
    state = f"{user.pk}:{user.organisation_id}:{user.nationality_id}:{','.join(sorted(holding))}"
    return hashlib.sha256(state.encode()).hexdigest()[:32], ahead


def _organisation_dates_ahead(organisation_id: int, now: datetime) -> list[datetime]:
    rows = Visibility.objects.filter(organisation_id=organisation_id)
    starts = rows.filter(valid_from__gt=now).aggregate(at=Min("valid_from"))["at"]
    ends = rows.filter(valid_until__gt=now).aggregate(at=Min("valid_until"))["at"]
    return [when for when in (starts, ends) if when is not None]


def evaluated_models_for(user, readable: QuerySet[Document], build) -> list[tuple[str, str]]:
    """`build(readable)`, from the cache when nothing it depends on has changed since (and the
    cache is one every web process shares: `ACCORD_MENU_CACHE`)."""
    if not settings.ACCORD_MENU_CACHE:
        return build(readable)
    now = timezone.now()
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:
            generation = int(now.timestamp() * 1e6)
            cache.add(GENERATION_KEY, generation, None)
            generation = cache.get(GENERATION_KEY, generation)
        fingerprint, ahead = _person(user, now)
        key = f"sharing:models-menu:{generation}:{fingerprint}"
        menu = cache.get(key)
    except Exception:  # noqa: BLE001 - no cache: compute it
        logger.warning("filter menu cache unavailable", exc_info=True)
        return build(readable)
    if menu is not None:
        return [tuple(pair) for pair in menu]
    menu = build(readable)
    ahead += _organisation_dates_ahead(user.organisation_id, now)
    timeout = min([LONGEST, *((when - now).total_seconds() for when in ahead)])
    if timeout >= 1:
        try:
            cache.set(key, menu, int(timeout))
        except Exception:  # noqa: BLE001
            logger.warning("filter menu cache unavailable", exc_info=True)
    return menu
