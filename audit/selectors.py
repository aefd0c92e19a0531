"""Reads of the audit trail, always narrowed to what the viewer may see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import signing
from .access import ViewerScope
from .chain import HASHED_FIELDS, iso_utc
from .models import AuditCheckpoint, AuditEvent, AuditSubject, VerificationRun
from .registry import owned_ids, targets, withheld_types

PAGE_SIZE = 50
# Every stored field of an event: the hashed ones, the hash itself, then the sequencer's link
# (version 3: the position and sealing time; null while the event is not yet sealed) and the
# content digest.
EXPORT_FIELDS = (*HASHED_FIELDS, "hash", "position", "sealed_at", "digest")


def visible_events(scope: ViewerScope) -> QuerySet[AuditEvent]:
    """Everything for portal admins; for organisation admins, the events recorded against their
    organisations (acts of their people, and anything filed under the organisation, such as a
    failed sign-in to a member's account), events whose target is one of their members or the
    organisation itself, and every event on a target their organisations originated (documents,
    attachments, releases: `registry.targets()`), whoever did it, listings naming one included.
    What of each event is shown is `visibility.present`'s to decide."""
    qs = AuditEvent.objects.all()
    if scope.everything:
        return qs
    ids = sorted(scope.organisation_ids)
    member_codes = [
        str(code) for code in get_user_model().objects.filter(organisation_id__in=ids).values_list("code", flat=True)
    ]
    org_codes = [str(code) for code in scope.organisations().values_list("code", flat=True)]
    condition = (
        Q(organisation_id__in=ids)
        | Q(target_type="accounts.user", target_id__in=member_codes)
        | Q(target_type="accounts.organisation", target_id__in=org_codes)
    )
    for kind in targets().values():
        owned = owned_ids(kind, ids)
        listed = AuditSubject.objects.filter(target_type=kind.target_type, target_id__in=owned).values("seq")
        condition |= Q(target_type=kind.target_type, target_id__in=owned) | Q(seq__in=listed)
    return qs.filter(condition)


def events_about(target_type: str, target_id: str, related: dict[str, list[str]]) -> QuerySet[AuditEvent]:
    """Every event on one target, on the targets `related` names ({type: ids}, such as a
    document's attachments and releases), and every listing that named the target: an
    originator's access history. By index: (target_type, target_id) on events and subjects."""
    condition = Q(target_type=target_type, target_id=target_id)
    for kind, ids in related.items():
        if ids:
            condition |= Q(target_type=kind, target_id__in=ids)
    listed = AuditSubject.objects.filter(target_type=target_type, target_id=target_id).values("seq")
    return AuditEvent.objects.filter(condition | Q(seq__in=listed))


def filter_events(qs: QuerySet[AuditEvent], filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    if filters.get("actor"):
        qs = qs.filter(actor_label__icontains=filters["actor"])
    if filters.get("organisation"):
        qs = qs.filter(organisation_id=filters["organisation"].pk)
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("outcome"):
        qs = qs.filter(outcome=filters["outcome"])
    if filters.get("target"):
        term = filters["target"]
        # Labels that hold document titles are not searched: a match would tell a viewer who may
        # not read the document that a title contains the term. Such targets are found by code.
        qs = qs.filter(Q(target_id=term) | (Q(target_label__icontains=term) & ~Q(target_type__in=withheld_types())))
    if filters.get("since"):
        qs = qs.filter(at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(at__lt=filters["until"])
    return qs


def page_of_events(qs: QuerySet[AuditEvent], *, before: int | None, after: int | None) -> tuple[list, bool, bool]:
    """One page, newest first, by seq cursor (constant cost however deep: no OFFSET, no COUNT).
    Returns (events, has_newer, has_older)."""
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_older = bool(rows) and qs.filter(seq__lt=rows[-1].seq).exists()
        return rows, has_newer, has_older
    if before is not None:
        qs_page = qs.filter(seq__lt=before)
    else:
        qs_page = qs
    rows = list(qs_page.order_by("-seq")[: PAGE_SIZE + 1])
    has_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    has_newer = before is not None and bool(rows) and qs.filter(seq__gt=rows[0].seq).exists()
    return rows, has_newer, has_older


def export_chunks(qs: QuerySet[AuditEvent], *, upto: int, chunk_size: int = 2000) -> Iterator[list[dict]]:
    """Rows (dicts of EXPORT_FIELDS) in seq order up to `upto`, keyset-chunked so an export of
    millions stays flat; each chunk is shown through `visibility.present` as one page is."""
    last = 0
    base = qs.filter(seq__lte=upto).order_by("seq")
    while True:
        chunk = list(base.filter(seq__gt=last).values(*EXPORT_FIELDS)[:chunk_size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["seq"]
        if len(chunk) < chunk_size:
            return


def latest_verification() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-finished_at").first()


def checkpoint_document() -> dict:
    """Every signed checkpoint and the public keys that verify them, as partners keep them and
    as `audit verify --checkpoints FILE` reads them back."""
    return {
        "format": "accord-audit-checkpoints/v1",
        "exported_at": iso_utc(timezone.now()),
        "public_keys": {kid: signing.public_pem(pub).decode() for kid, pub in signing.trusted_public_keys().items()},
        "checkpoints": [
            {"seq": c.seq, "head_hash": c.head_hash, "at": iso_utc(c.at), "key_id": c.key_id, "signature": c.signature}
            for c in AuditCheckpoint.objects.order_by("seq").iterator(chunk_size=2000)
        ],
    }
