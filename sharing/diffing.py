"""What changed between the revision a partner reads and the latest one: the release officer's
difference page, marking first, then the text, then the attachments.

Everything here is computed from revision snapshots (and attachment rows) and rendered by the
template as plain escaped text in table rows: no script, no inline style, nothing the strict
Content Security Policy would have to allow.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .marking import MarkingChange, marking_changes, marking_from_snapshot
from .models import Attachment, DocumentRevision

# Unchanged lines kept around each change, as `diff -u` does.
CONTEXT_LINES = 3
# The text fields compared, in the order the page shows them.
TEXT_FIELDS = (
    ("title", "Title"),
    ("summary", "Summary"),
    ("body", "Finding"),
    ("model_developer", "Model developer"),
    ("model_name", "Model name"),
    ("model_version", "Model version"),
)


@dataclass(frozen=True)
class Line:
    """One row of a text difference: `kind` is "same", "added", "removed" or "gap"."""

    kind: str
    text: str
    before_number: int | None = None
    after_number: int | None = None

    @property
    def sign(self) -> str:
        return {"added": "+", "removed": "−", "same": "", "gap": "⋯"}[self.kind]


@dataclass(frozen=True)
class FieldDiff:
    name: str
    label: str
    lines: list[Line]


@dataclass
class RevisionDiff:
    before: DocumentRevision
    after: DocumentRevision
    marking: list[MarkingChange] = field(default_factory=list)
    fields: list[FieldDiff] = field(default_factory=list)
    attachments_added: list[Attachment] = field(default_factory=list)
    attachments_removed: list[Attachment] = field(default_factory=list)

    @property
    def lowers_marking(self) -> bool:
        return any(change.lowers for change in self.marking)

    @property
    def is_empty(self) -> bool:
        return not (self.marking or self.fields or self.attachments_added or self.attachments_removed)


def text_lines(before: str, after: str) -> list[Line]:
    """A line difference with `CONTEXT_LINES` of context, runs of unchanged lines elided."""
    old, new = (before or "").splitlines(), (after or "").splitlines()
    rows: list[Line] = []
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(CONTEXT_LINES):
        if rows:
            rows.append(Line("gap", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [Line("same", old[i], i + 1, j1 + (i - i1) + 1) for i in range(i1, i2)]
                continue
            rows += [Line("removed", old[i], i + 1, None) for i in range(i1, i2)]
            rows += [Line("added", new[j], None, j + 1) for j in range(j1, j2)]
    return rows


def _text(snapshot: dict, name: str) -> str:
    value = snapshot.get(name, "")
    return "\n".join(value) if isinstance(value, list) else str(value or "")


def revision_diff(before: DocumentRevision, after: DocumentRevision, country: str | None = None) -> RevisionDiff:
    """Marking changes, then text differences, then the attachments added and removed since
    `before` (a file belongs to the revision it was attached in; a destruction writes none)."""
    tiers = {r.tier.code: r.tier for r in (before, after)}
    diff = RevisionDiff(before=before, after=after)
    diff.marking = marking_changes(
        marking_from_snapshot(before.snapshot, tiers), marking_from_snapshot(after.snapshot, tiers), country
    )
    named = (*TEXT_FIELDS, ("risk_domains", "Risk domains"))
    for name, label in named:
        old, new = _text(before.snapshot, name), _text(after.snapshot, name)
        if old != new:
            diff.fields.append(FieldDiff(name, label, text_lines(old, new)))
    files = Attachment.objects.filter(document_id=before.document_id).order_by("uploaded_at", "pk")
    diff.attachments_added = list(
        files.filter(
            added_in_revision__gt=before.number, added_in_revision__lte=after.number, destroyed_at__isnull=True
        )
    )
    diff.attachments_removed = list(
        files.filter(added_in_revision__lte=before.number, destroyed_at__gt=before.created_at)
    )
    return diff
