"""Revisions: the immutable snapshot every change of a document writes."""

from __future__ import annotations

from accounts.models import User

from ..marking import marking_of
from ..models import Document, DocumentRevision

SCALAR_FIELDS = Document.TEXT_FIELDS
M2M_FIELDS = ("risk_domains", "releasable_to", "compartments", "caveats")
MARKING_FIELDS = frozenset({"tier", "releasable_to", "compartments", "caveats"})


def snapshot_of(document: Document) -> dict:
    """Everything a revision keeps: the text, the evaluated model, topics, status and marking."""
    return {
        **{name: getattr(document, name) for name in SCALAR_FIELDS},
        "status": document.status,
        "risk_domains": sorted(d.code for d in document.risk_domains.all()),
        "marking": marking_of(document).as_snapshot(),
    }


def write_revision(document: Document, *, actor: User, changed: list[str], note: str = "") -> DocumentRevision:
    # The first revision sets the marking rather than changing it; the history shows it as
    # "Marked …" without the change flag, so the flag picks out only later re-markings.
    revision = DocumentRevision(
        document=document,
        number=document.revision,
        author=actor,
        created_at=document.updated_at,
        snapshot=snapshot_of(document),
        changed_fields=changed,
        marking_changed=document.revision > 1 and bool(MARKING_FIELDS.intersection(changed)),
        note=note[:300],
        tier_id=document.tier_id,
    )
    revision.full_clean()
    revision.save()
    revision.releasable_to.set(document.releasable_to.all())
    revision.compartments.set(document.compartments.all())
    return revision
