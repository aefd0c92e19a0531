"""What the audit viewer may print as a target's name.

The trail keeps a text snapshot of each target (`target_label`): for documents that is the
title, for releases "title → recipient", for attachments the file name. The viewer is not a
marked page, so it shows such a label only to someone who may read the document now
(`sharing.policy`); everyone else sees the code, which tells nothing about the content. The
rows themselves are never changed (they are hashed); only what the page prints is.

Cost: at most one query per kind of withheld target on the page, whatever the page size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q

from .models import AuditEvent

DOCUMENT, RELEASE, ATTACHMENT = "sharing.document", "sharing.release", "sharing.attachment"
# Target types whose label carries a document's title or a file name from it.
WITHHELD_TYPES = (DOCUMENT, RELEASE, ATTACHMENT)


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
    """(target_type, target_id) of the page's withheld-type targets whose title `user` may read."""
    from sharing.models import Attachment, Release
    from sharing.policy import readable_documents

    allowed: set[tuple[str, str]] = set()
    readable = readable_documents(user)
    lookups = {
        DOCUMENT: lambda codes: readable.filter(code__in=codes),
        RELEASE: lambda codes: Release.objects.filter(code__in=codes, document__in=readable.values("pk")),
        # A signed MoU has no document; its file name is not marked content.
        ATTACHMENT: lambda codes: Attachment.objects.filter(
            Q(document__isnull=True) | Q(document__in=readable.values("pk")), code__in=codes
        ),
    }
    for kind, lookup in lookups.items():
        codes = _codes(events, kind)
        if codes:
            allowed |= {(kind, str(code)) for code in lookup(codes).values_list("code", flat=True)}
    return allowed


def label_events(user, events: list[AuditEvent]) -> list[AuditEvent]:
    """Set `shown_label` and `label_withheld` on each event, for the template."""
    allowed = readable_target_ids(user, events)
    for event in events:
        withheld = event.target_type in WITHHELD_TYPES and (event.target_type, event.target_id) not in allowed
        event.label_withheld = withheld and bool(event.target_label)
        event.shown_label = event.target_id if withheld else (event.target_label or event.target_id)
    return events
