"""What the audit viewer may print as a target's name.

The trail keeps a text snapshot of each target (`target_label`): for documents that is the
title, for releases "title → recipient", for attachments the file name. The viewer is not a
marked page, so it shows such a label only to someone who may read the document now (the app
that owns the target decides, through `registry.withhold_labels`); everyone else sees the code,
which tells nothing about the content. The rows themselves are never changed (they are hashed);
only what the page prints is.

Cost: at most one query per kind of withheld target on the page, whatever the page size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from .models import AuditEvent
from .registry import withheld_labels, withheld_types


def _codes(events: Iterable[AuditEvent], kind: str) -> set[uuid.UUID]:
    codes = set()
    for event in events:
        if event.target_type == kind:
            try:
                codes.add(uuid.UUID(event.target_id))
            except ValueError:  # not a code (an attempt on a malformed URL, a failed create)
                continue
    return codes


def readable_target_ids(user, events: list[AuditEvent]) -> set[tuple[str, str]]:
    """(target_type, target_id) of the page's withheld-type targets whose label `user` may see."""
    allowed: set[tuple[str, str]] = set()
    for kind, readable_codes in withheld_labels().items():
        codes = _codes(events, kind)
        if codes:
            allowed |= {(kind, str(code)) for code in readable_codes(user, codes)}
    return allowed


def label_events(user, events: list[AuditEvent]) -> list[AuditEvent]:
    """Set `shown_label` and `label_withheld` on each event, for the template."""
    allowed = readable_target_ids(user, events)
    withheld_kinds = withheld_types()
    for event in events:
        withheld = event.target_type in withheld_kinds and (event.target_type, event.target_id) not in allowed
        event.label_withheld = withheld and bool(event.target_label)
        event.shown_label = event.target_id if withheld else (event.target_label or event.target_id)
    return events
