"""What the apps above audit tell it, in their `AppConfig.ready()`, so that audit imports none.

audit is the lowest of Accord's apps: it records typed references (`"sharing.document"` and a
code) and a text snapshot of each target, and knows nothing of the domain. Two things the
viewer needs to *display* the trail are the domain's to decide, so the apps register them here:

- **Labels** (`withhold_labels`): the target types whose label carries marked content (a
  document's title, a file name from it). The viewer prints such a label only when the app's
  `readable_codes(user, codes)` returns the target's code; everyone else sees the code.
- **Visibility** (`set_trail_readers`): who reads the trail and how much of it. Without a
  registered `TrailReaders` nobody does (the viewer fails closed).

Both are filled once at start-up and only read afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

# (user, codes of targets of one type on the page) -> the codes whose label the user may see.
ReadableCodes = Callable[[Any, set[uuid.UUID]], Iterable[uuid.UUID]]

_withheld: dict[str, ReadableCodes] = {}


def withhold_labels(target_type: str, readable_codes: ReadableCodes) -> None:
    """Print labels of `target_type` ("app.model") only to viewers `readable_codes` allows."""
    _withheld[target_type] = readable_codes


def withheld_labels() -> dict[str, ReadableCodes]:
    """{target type: its `readable_codes`}, in the order the apps registered them."""
    return dict(_withheld)


def withheld_types() -> tuple[str, ...]:
    return tuple(_withheld)


@dataclass(frozen=True)
class TrailReaders:
    """Who reads the audit trail: `reads_everything(user)` (portal admins) or the events of the
    organisations `organisation_ids(user)` returns (organisation admins); `organisations()` is
    every organisation, in the order the viewer's filter lists them."""

    organisations: Callable[[], QuerySet]
    reads_everything: Callable[[Any], bool]
    organisation_ids: Callable[[Any], frozenset[int]]


_readers: list[TrailReaders] = []


def set_trail_readers(readers: TrailReaders) -> None:
    _readers[:] = [readers]


def trail_readers() -> TrailReaders:
    if not _readers:
        raise ImproperlyConfigured("No app told audit who reads the trail (accounts does, in AppConfig.ready()).")
    return _readers[0]
