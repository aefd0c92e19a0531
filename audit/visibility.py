"""What each viewer sees of each event: the one selector behind the audit page, its exports,
a document's access history and any later feed.

Which events a viewer sees at all is `selectors.visible_events`; this module decides what of
each one is shown. The rules (docs/SECURITY.md has them as a table):

- A title, banner or detail of a target whose type carries marked content (`registry.targets()`:
  documents, their attachments and releases) is shown only to a viewer who may read it now;
  anyone else gets a neutral reference ("document (withheld)" and the code the actor used), and
  of the details only what says nothing about the document (`wanted`, `via`).
- A refusal about such a target reads "not found" (the type's `missing` reason) to everyone but
  the originator's side, whether the target was forbidden or never existed: a real-but-forbidden
  code and a random one give the same row. The originator's admins (and portal admins, who run
  the portal) see the real reason's code, without the values it names unless they may read the
  document.
- A list event names the codes its page showed (`details["subjects"]`); a viewer sees only the
  codes it may read or its organisation originated.

Stored rows never change (they are hashed). A row shown otherwise than stored is marked
`redacted` and carries no `hash` or `prev_hash`: the hash would let the viewer test a guess of
what was withheld (a title, or "this code never existed"), which is exactly what is withheld.
Cost: at most two queries per target type on a page (what the viewer may read, what its
organisations originated), whatever the page size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .access import ViewerScope
from .models import Outcome
from .reasons import SENTENCES, Reason, sentence_of
from .registry import TargetKind, targets

# Details that say nothing about a withheld target: what the actor wanted, and through what.
NEUTRAL_DETAILS = ("wanted", "via")
# Shown beside the stored fields, never hashed.
DERIVED_FIELDS = ("reason_text", "redacted")


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the user (for what they may read now), the organisations whose side they
    see (those they administer), and whether they run the portal."""

    user: Any
    organisation_ids: frozenset[int]
    portal_admin: bool

    @classmethod
    def of(cls, user, scope: ViewerScope) -> Viewer:
        return cls(user=user, organisation_ids=scope.organisation_ids, portal_admin=scope.everything)


def _code(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:  # not a code (an attempt on a malformed URL, a failed create)
        return None


def _subjects(item: Mapping[str, Any]) -> dict[str, list[str]]:
    named = (item.get("details") or {}).get("subjects")
    return named if isinstance(named, dict) else {}


def _references(items: Iterable[Mapping[str, Any]], registered: Mapping[str, TargetKind]) -> dict[str, set]:
    """{target type: codes} of the registered targets the items name, as target or subject."""
    found: dict[str, set[uuid.UUID]] = {kind: set() for kind in registered}
    for item in items:
        pairs = [(item["target_type"], item["target_id"])]
        pairs += [(kind, ident) for kind, ids in _subjects(item).items() for ident in ids or ()]
        for kind, ident in pairs:
            code = _code(ident) if kind in found else None
            if code is not None:
                found[kind].add(code)
    return found


@dataclass
class _Facts:
    readable: set[tuple[str, str]]
    owned: set[tuple[str, str]]


def _facts(viewer: Viewer, items: list[Mapping[str, Any]]) -> _Facts:
    registered = targets()
    facts = _Facts(readable=set(), owned=set())
    for kind_name, codes in _references(items, registered).items():
        if not codes:
            continue
        kind = registered[kind_name]
        facts.readable |= {(kind_name, str(code)) for code in kind.readable_codes(viewer.user, codes)}
        if viewer.organisation_ids:
            owned = kind.owned(viewer.organisation_ids).filter(code__in=codes).values_list("code", flat=True)
            facts.owned |= {(kind_name, str(code)) for code in owned}
    return facts


def present(viewer: Viewer, items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each item (an event's stored fields, `hash` included) as `viewer` may see it, with
    `reason_text`, `redacted`, `shown_label` and `label_withheld` added."""
    registered = targets()
    facts = _facts(viewer, items)
    return [ShownEvent(_present_one(viewer, dict(item), registered, facts)) for item in items]


class ShownEvent(dict):
    """An event as shown: a dict of its fields, also read as attributes (`event.target_id`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _present_one(viewer: Viewer, item: dict[str, Any], registered: Mapping[str, TargetKind], facts: _Facts) -> dict:
    details = dict(item.get("details") or {})
    pair = (item["target_type"], item["target_id"])
    kind = registered.get(item["target_type"])
    redacted = False
    item["label_withheld"] = False
    if kind is not None and pair not in facts.readable:
        redacted = True
        originator_side = viewer.portal_admin or pair in facts.owned
        shown = {key: details[key] for key in NEUTRAL_DETAILS if key in details}
        if item["outcome"] == Outcome.DENIED:
            shown["reason"] = _known_code(details.get("reason")) if originator_side else str(kind.missing)
        if "subjects" in details:
            shown["subjects"] = details["subjects"]
        details = shown
        # The same words whether the target is forbidden or never existed.
        item["target_label"] = f"{kind.noun} (withheld)"
        item["label_withheld"] = True
        item["shown_label"] = item["target_id"]
    else:
        item["shown_label"] = item["target_label"] or item["target_id"]
    named = _subjects({"details": details})
    if named:
        kept = {
            kind_name: [i for i in ids if kind_name not in registered or (kind_name, i) in facts.readable | facts.owned]
            for kind_name, ids in named.items()
        }
        if kept != named:
            redacted = True
            details["subjects"] = kept
    item["details"] = details
    item["redacted"] = redacted
    if redacted:
        # The digest too: like the hash, it would let the viewer test a guess of what is withheld.
        item["hash"] = item["prev_hash"] = item["digest"] = ""
    item["reason_text"] = _sentence(details) if item["outcome"] == Outcome.DENIED else ""
    return item


def _known_code(stored: Any) -> str:
    """A stored reason code as it is; anything else (an old row's sentence, which may name a
    compartment or tier) is withheld."""
    try:
        return Reason(stored).value
    except ValueError:
        return "withheld"


def _sentence(details: Mapping[str, Any]) -> str:
    try:
        code = Reason(details.get("reason"))
    except ValueError:
        return sentence_of(details)
    # A value the sentence names may have been withheld: say so rather than print a placeholder.
    return SENTENCES[code].format_map(_Withheld(details))


class _Withheld(dict):
    def __missing__(self, key: str) -> str:
        return "(withheld)"
