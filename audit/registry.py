"""What the apps above audit tell it, in their `AppConfig.ready()`, so that audit imports none.

audit is the lowest of Accord's apps: it records typed references (`"sharing.document"` and a
code) and a text snapshot of each target, and knows nothing of the domain. Two things the
viewer needs to *display* the trail are the domain's to decide, so the apps register them here:

- **Targets** (`register_target`): the target types whose label or details carry marked
  content (a document's title and banner, a file name from it), with who may read each, whose
  it is and what "not found" reads like for it. `audit.visibility` shows events about them
  from these answers; see its docstring and docs/SECURITY.md.
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
from django.db.models import CharField, Func, QuerySet

# (user, codes of targets of one type on the page) -> the codes whose label the user may see.
ReadableCodes = Callable[[Any, set[uuid.UUID]], Iterable[uuid.UUID]]


@dataclass(frozen=True)
class TargetKind:
    """One target type whose label or details carry marked content (a document's title, its
    banner, a file name from it), and what audit needs to know to show events about it.

    `readable_codes(user, codes)`: those of `codes` whose title, banner and details `user` may
    see now. `owned(organisation_ids)`: a queryset of the targets those organisations
    originated (keyed by a UUID `code`), whose every event their admins see. `missing`: the
    reason (an `audit.reasons.Reason`) the actor's side reads for any refusal about such a
    target, forbidden or missing alike. `noun`: what a withheld one is called ("document").
    """

    target_type: str
    noun: str
    missing: str
    readable_codes: ReadableCodes
    owned: Callable[[Iterable[int]], QuerySet]


_targets: dict[str, TargetKind] = {}


def register_target(kind: TargetKind) -> None:
    """Show events about `kind.target_type` ("app.model") as `audit.visibility` decides."""
    _targets[kind.target_type] = kind


def targets() -> dict[str, TargetKind]:
    """{target type: its kind}, in the order the apps registered them."""
    return dict(_targets)


def withheld_types() -> tuple[str, ...]:
    return tuple(_targets)


class CodeText(Func):
    """A UUID `code` column as the text audit stores in `target_id` (lowercase, with dashes).

    PostgreSQL keeps a `uuid` and casts it to exactly that; SQLite keeps 32 hex digits, so the
    dashes are put back. Lets a subquery of codes meet `target_id` in SQL, by index."""

    output_field = CharField()
    template = "CAST(%(expressions)s AS text)"

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        spans = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        parts = " || '-' || ".join(f"substr(lower({sql}), {start}, {length})" for start, length in spans)
        return f"({parts})", params * len(spans)


def owned_ids(kind: TargetKind, organisation_ids: Iterable[int]) -> QuerySet:
    """`target_id` values (as text) of the targets of `kind` the organisations originated."""
    return kind.owned(organisation_ids).annotate(audit_id=CodeText("code")).values("audit_id")


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
