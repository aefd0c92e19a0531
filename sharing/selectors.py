"""Reads of documents. Every list starts from `policy.readable_documents(user)`; these helpers
only narrow it further, so nothing here can widen what a user sees.

Text search is PostgreSQL full-text search over title (weight A), summary (B) and body (C),
ranked, using the expressions the GIN indexes are built on (`document_search` over documents,
for the originator's people; `revision_search` over revisions' snapshots, for partners, who
match only the revision released to them); on SQLite (the embedded demo) each word must appear,
case-insensitively, in one of the three.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, Exists, FloatField, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from accounts.models import Organisation, Tier, User

from .marking import Marking, describe_change, marking_from_snapshot
from .models import Attachment, Document, DocumentRevision, Release
from .policy import read_revisions, readable_attachments, readable_documents

SEARCH_CONFIG = "english"
SEARCH_MAX_CHARS = 200


def with_marking(queryset: QuerySet[Document]) -> QuerySet[Document]:
    """Load what banners and portion marks need, in a fixed number of queries for any length."""
    return queryset.select_related("tier", "originator", "author").prefetch_related(
        "releasable_to", "compartments", "caveats", "risk_domains"
    )


def search_vector():
    """The weighted document vector. The GIN index in migration 0003 is built on this exact
    expression; change both together or searches fall back to a full scan."""
    return (
        SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("summary", weight="B", config=SEARCH_CONFIG)
        + SearchVector("body", weight="C", config=SEARCH_CONFIG)
    )


def revision_search_vector():
    """The same vector over a revision's snapshot, which is what a partner reads. The GIN index
    `revision_search` (migration 0010) is built on this exact expression; change both together."""
    return (
        SearchVector(KT("snapshot__title"), weight="A", config=SEARCH_CONFIG)
        + SearchVector(KT("snapshot__summary"), weight="B", config=SEARCH_CONFIG)
        + SearchVector(KT("snapshot__body"), weight="C", config=SEARCH_CONFIG)
    )


def _as_read(queryset: QuerySet[Document], reader: User | None, condition) -> QuerySet[Document]:
    """Keep the documents whose text, as `reader` reads it, meets `condition(revision)`: a Q over
    a document's own columns (`revision=False`) or over a revision's (`revision=True`; text
    fields are in its snapshot). The originator's people match the latest text; everyone else
    only the revision released to them (`policy.read_revisions`), so a word or a model name that
    is only in an unreleased revision finds nothing. No `reader`: the latest text (tools)."""
    if reader is None:
        return queryset.filter(condition(False))
    own = Document.objects.filter(condition(False), originator_id=reader.organisation_id).values("pk")
    theirs = read_revisions(reader).filter(condition(True)).values("document_id")
    return queryset.filter(Q(pk__in=own) | Q(pk__in=theirs))


def documents_titled(reader: User | None, text: str) -> QuerySet[Document]:
    """Documents whose title, as `reader` reads it, contains `text` (case-insensitively); the
    caller narrows them by the policy."""
    return _as_read(
        Document.objects.all(), reader, lambda revision: Q(**{f"{_text('title', revision)}__icontains": text})
    )


def _text(name: str, revision: bool) -> str:
    return f"snapshot__{name}" if revision else name


def search_documents(queryset: QuerySet[Document], text: str, *, reader: User | None = None) -> QuerySet[Document]:
    """Narrow to documents matching `text` (web-search syntax on PostgreSQL), best first, in the
    text `reader` reads (see `_as_read`)."""
    text = " ".join(text.split())[:SEARCH_MAX_CHARS]
    if not text:
        return queryset
    if connection.vendor == "postgresql":
        return _postgres_search(queryset, text, reader)
    words = [word.strip("\"'") for word in text.split()]
    words = [word for word in words if word and word != "-"]

    def condition(revision: bool) -> Q:
        found = Q()
        for word in words:
            found &= (
                Q(**{f"{_text('title', revision)}__icontains": word})
                | Q(**{f"{_text('summary', revision)}__icontains": word})
                | Q(**{f"{_text('body', revision)}__icontains": word})
            )
        return found

    return _as_read(queryset, reader, condition)


def _postgres_search(queryset: QuerySet[Document], text: str, reader: User | None) -> QuerySet[Document]:
    # Each side is answered from its GIN index (documents' `document_search`, revisions'
    # `revision_search`), then narrowed by the policy's queryset; ranks come from the text matched.
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    vector = search_vector()
    if reader is None:
        return (
            queryset.annotate(search=vector)
            .filter(search=query)
            .annotate(search_rank=SearchRank(vector, query))
            .order_by("-search_rank", "-created_at")
        )
    own = Document.objects.filter(originator_id=reader.organisation_id).annotate(search=vector).filter(search=query)
    theirs = read_revisions(reader).annotate(search=revision_search_vector()).filter(search=query)
    rank_theirs = (
        theirs.filter(document_id=OuterRef("pk"))
        .annotate(rank=SearchRank(revision_search_vector(), query))
        .values("rank")[:1]
    )
    rank = Case(
        When(originator_id=reader.organisation_id, then=SearchRank(vector, query)),
        default=Subquery(rank_theirs),
        output_field=FloatField(),
    )
    return (
        queryset.filter(Q(pk__in=own.values("pk")) | Q(pk__in=theirs.values("document_id")))
        .annotate(search_rank=rank)
        .order_by("-search_rank", "-created_at")
    )


def filter_documents(
    queryset: QuerySet[Document],
    *,
    reader: User | None = None,
    tier: Tier | None = None,
    risk_domain: str | None = None,
    model_developer: str | None = None,
    model_name: str | None = None,
    originator: Organisation | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    text: str | None = None,
) -> QuerySet[Document]:
    """Narrow a policy-filtered queryset. Dates are inclusive and apply to the publication date,
    or the creation date of a document not yet published. Tier, evaluated model and text match
    what `reader` reads: a partner the revision released to it (see `_as_read`)."""
    if tier is not None:
        queryset = _as_read(queryset, reader, lambda revision: Q(tier=tier))
    if risk_domain:
        # A subquery, not a join: a join would repeat a document once per matching row.
        through = Document.risk_domains.through
        queryset = queryset.filter(
            Exists(through.objects.filter(document_id=OuterRef("pk"), riskdomain__code=risk_domain))
        )
    if model_developer:
        queryset = _as_read(
            queryset, reader, lambda revision: Q(**{f"{_text('model_developer', revision)}__iexact": model_developer})
        )
    if model_name:
        queryset = _as_read(
            queryset, reader, lambda revision: Q(**{f"{_text('model_name', revision)}__iexact": model_name})
        )
    if originator is not None:
        queryset = queryset.filter(originator=originator)
    if status:
        queryset = queryset.filter(status=status)
    if date_from or date_to:
        queryset = queryset.annotate(dated=Coalesce("published_at", "created_at"))
        if date_from:
            queryset = queryset.filter(dated__gte=_start_of(date_from))
        if date_to:
            queryset = queryset.filter(dated__lt=_start_of(date_to + dt.timedelta(days=1)))
    if text:
        queryset = search_documents(queryset, text, reader=reader)
    return queryset


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def evaluated_models(queryset: QuerySet[Document], reader: User | None = None) -> list[tuple[str, str]]:
    """The distinct (developer, model name) pairs among the documents, for a filter menu, as
    `reader` reads them (a partner: from the revision released to it; see `_as_read`).

    Spellings differing only in case are one entry, as the filter ignores case."""
    if reader is None:
        pairs = list(queryset.exclude(model_name="").order_by().values_list("model_developer", "model_name").distinct())
    else:
        own = queryset.filter(originator_id=reader.organisation_id).exclude(model_name="")
        pairs = list(own.order_by().values_list("model_developer", "model_name").distinct())
        theirs = read_revisions(reader).filter(document__in=queryset.exclude(originator_id=reader.organisation_id))
        theirs = theirs.annotate(developer=KT("snapshot__model_developer"), name=KT("snapshot__model_name"))
        pairs += [(d or "", n) for d, n in theirs.order_by().values_list("developer", "name").distinct() if n]
    merged: dict[tuple[str, str], tuple[str, str]] = {}
    for developer, name in pairs:
        key = (developer.lower(), name.lower())
        merged[key] = min(merged.get(key, (developer, name)), (developer, name))
    return [merged[key] for key in sorted(merged)]


@dataclass(frozen=True)
class RevisionEntry:
    """One line of a document's history, ready for a template."""

    number: int
    author: User
    at: dt.datetime
    note: str
    changed_fields: list[str]
    marking_changed: bool
    marking: Marking
    marking_before: Marking | None

    def marking_change(self, country: str | None = None) -> str:
        """`Marking changed from X to Y` (or `Marked X` for the first revision); empty if unchanged."""
        if self.marking_before is not None and not self.marking_changed:
            return ""
        return describe_change(self.marking_before, self.marking, country)


def revision_history(document: Document) -> list[RevisionEntry]:
    """The document's revisions, newest first, each with the marking before and after it.

    Two queries whatever the length: the revisions with their authors, and the tiers.
    """
    revisions = list(DocumentRevision.objects.filter(document=document).select_related("author").order_by("number"))
    tiers = {t.code: t for t in Tier.objects.all()}
    entries: list[RevisionEntry] = []
    previous: Marking | None = None
    for revision in revisions:
        marking = marking_from_snapshot(revision.snapshot, tiers)
        entries.append(
            RevisionEntry(
                number=revision.number,
                author=revision.author,
                at=revision.created_at,
                note=revision.note,
                changed_fields=list(revision.changed_fields),
                marking_changed=revision.marking_changed,
                marking=marking,
                marking_before=previous,
            )
        )
        previous = marking
    entries.reverse()
    return entries


def marking_changes(document: Document) -> list[RevisionEntry]:
    """Only the revisions that changed the marking, newest first, for a prominent history box."""
    return [entry for entry in revision_history(document) if entry.marking_changed]


# The audit viewer prints a document's title, a release's "title → recipient" or a file name
# only to a viewer who may read the document now; sharing registers these with audit in
# SharingConfig.ready(). Each is one query for a whole page's codes.
def readable_document_codes(user, codes: set[uuid.UUID]) -> QuerySet:
    return readable_documents(user).filter(code__in=codes).values_list("code", flat=True)


def readable_release_codes(user, codes: set[uuid.UUID]) -> QuerySet:
    readable = readable_documents(user).values("pk")
    return Release.objects.filter(code__in=codes, document__in=readable).values_list("code", flat=True)


def readable_attachment_codes(user, codes: set[uuid.UUID]) -> QuerySet:
    # A signed MoU has no document; its file name is not marked content.
    attachments = Attachment.objects.filter(
        Q(document__isnull=True) | Q(pk__in=readable_attachments(user).values("pk")), code__in=codes
    )
    return attachments.values_list("code", flat=True)


def released_compartment_ids(organisation: Organisation) -> QuerySet:
    """The compartments of the documents released to `organisation` (approved, unrevoked):
    registered with accounts, so the organisation sees that those compartments exist."""
    released = Release.objects.filter(recipient=organisation, status=Release.Status.APPROVED, revoked_at__isnull=True)
    return Document.compartments.through.objects.filter(document_id__in=released.values("document_id")).values(
        "compartment_id"
    )


# Whose targets are they: every event on these is shown to the admins of their originator
# (registered with audit in SharingConfig.ready(); see audit/registry.py).
def originated_documents(organisation_ids: Iterable[int]) -> QuerySet[Document]:
    return Document.objects.filter(originator_id__in=list(organisation_ids))


def originated_releases(organisation_ids: Iterable[int]) -> QuerySet[Release]:
    return Release.objects.filter(document__originator_id__in=list(organisation_ids))


def originated_attachments(organisation_ids: Iterable[int]) -> QuerySet[Attachment]:
    return Attachment.objects.filter(document__originator_id__in=list(organisation_ids))


def document_relations(document: Document) -> dict[str, list[str]]:
    """{audit target type: codes} of a document's attachments and releases: its access history
    covers them too."""
    attachments = Attachment.objects.filter(document=document).values_list("code", flat=True)
    releases = Release.objects.filter(document=document).values_list("code", flat=True)
    return {
        "sharing.attachment": [str(code) for code in attachments],
        "sharing.release": [str(code) for code in releases],
    }
