"""Keeping the visibility table (`sharing.models.Visibility`) equal to what the rules decide.

`keep(document_ids)` recomputes the rows of those documents, set-wise, in the caller's
transaction; every service that changes a release, an agreement, a grant, a marking or a
document's status calls it (through `sync_grants` for releases), and `manage.py policy rebuild`
recomputes every row. A row exists for each release that, whoever asks and whenever:

- is approved, not revoked, pins a revision, of a published document;
- stands under an active agreement to which the originator and the recipient are parties,
  whose ceiling ranks at or above the document's tier and whose topics hold every risk domain
  of the document;
- goes to an organisation whose country is the originator's, or is releasable in the
  document's current marking and in the marking of the revision released.

The dates are kept, not decided: [valid_from, valid_until) is the agreement's span, cut short
by the release's own expiry, and the read condition compares it to now. `narrowed` says
whether the release names its readers (the read condition then looks for the reader among
them). The guardian grant is not kept: the read condition asks for it live. `rows_by_rules` states the
same rules in Python with `scope.py`'s checks: the property tests hold the two to each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, router
from django.db.models import Q

from accounts.models import Organisation, Tier

from . import scope
from .menus import bump_generation
from .models import (
    AgreementParty,
    Document,
    DocumentRevision,
    Release,
    SharingAgreement,
    Visibility,
)
from .readable import _Names

_MODELS = (
    Organisation,
    Tier,
    Document,
    DocumentRevision,
    Release,
    SharingAgreement,
    AgreementParty,
    Visibility,
)

_SELECT = """
SELECT r.{Release.document}, r.{Release.recipient}, r.{Release.id}, r.{Release.revision}, a.{SharingAgreement.effective_from},
       CASE WHEN r.{Release.expires_at} IS NOT NULL AND r.{Release.expires_at} < a.{SharingAgreement.expires_at}
            THEN r.{Release.expires_at} ELSE a.{SharingAgreement.expires_at} END,
       CASE WHEN EXISTS (SELECT 1 FROM {Release.audience} ra WHERE ra.{Release.audience.release} = r.{Release.id})
            THEN :true ELSE :false END
FROM {Release} r
JOIN {Document} d ON d.{Document.id} = r.{Release.document}
JOIN {SharingAgreement} a ON a.{SharingAgreement.id} = r.{Release.agreement}
JOIN {Organisation} o ON o.{Organisation.id} = r.{Release.recipient}
JOIN {Organisation} oo ON oo.{Organisation.id} = d.{Document.originator}
WHERE r.{Release.status} = :approved AND r.{Release.revoked_at} IS NULL AND r.{Release.revision} IS NOT NULL
  AND d.{Document.status} = :published AND a.{SharingAgreement.status} = :agreement_active
  AND EXISTS (SELECT 1 FROM {AgreementParty} pr WHERE pr.{AgreementParty.agreement} = a.{SharingAgreement.id}
              AND pr.{AgreementParty.organisation} = r.{Release.recipient})
  AND EXISTS (SELECT 1 FROM {AgreementParty} po WHERE po.{AgreementParty.agreement} = a.{SharingAgreement.id}
              AND po.{AgreementParty.organisation} = d.{Document.originator})
  AND (SELECT ct.{Tier.rank} FROM {Tier} ct WHERE ct.{Tier.id} = a.{SharingAgreement.tier_ceiling})
      >= (SELECT dt.{Tier.rank} FROM {Tier} dt WHERE dt.{Tier.id} = d.{Document.tier})
  AND NOT EXISTS (
      SELECT 1 FROM {Document.risk_domains} drd
      WHERE drd.{Document.risk_domains.document} = d.{Document.id}
        AND drd.{Document.risk_domains.riskdomain} NOT IN (
            SELECT ard.{SharingAgreement.risk_domains.riskdomain} FROM {SharingAgreement.risk_domains} ard
            WHERE ard.{SharingAgreement.risk_domains.sharingagreement} = a.{SharingAgreement.id}))
  AND (o.{Organisation.country} = oo.{Organisation.country} OR (
      EXISTS (SELECT 1 FROM {Document.releasable_to} dr
              WHERE dr.{Document.releasable_to.document} = d.{Document.id}
                AND dr.{Document.releasable_to.country} = o.{Organisation.country})
      AND EXISTS (SELECT 1 FROM {DocumentRevision.releasable_to} vr
                  WHERE vr.{DocumentRevision.releasable_to.documentrevision} = r.{Release.revision}
                    AND vr.{DocumentRevision.releasable_to.country} = o.{Organisation.country})))
"""
_COLUMNS = ("document", "organisation", "release", "revision", "valid_from", "valid_until", "narrowed")

_templates: dict[str, tuple[str, str, tuple[str, ...]]] = {}


def _statements(connection) -> tuple[str, str, tuple[str, ...]]:
    """(INSERT … SELECT of every row, its restriction to some documents, the values' names)."""
    if connection.vendor not in _templates:
        names = {model.__name__: _Names(model, connection.ops.quote_name) for model in _MODELS}
        select = " ".join(_SELECT.format_map(names).split())
        meta = Visibility._meta
        columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in _COLUMNS)
        insert = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) {select}"
        restrict = f" AND r.{connection.ops.quote_name(Release._meta.get_field('document').column)} IN ({{ids}})"
        _templates[connection.vendor] = (re.sub(r":\w+", "%s", insert), restrict, tuple(re.findall(r":(\w+)", insert)))
    return _templates[connection.vendor]


def _values(connection) -> dict:
    return {
        "true": True,
        "false": False,
        "approved": Release.Status.APPROVED.value,
        "published": Document.Status.PUBLISHED.value,
        "agreement_active": SharingAgreement.Status.ACTIVE.value,
    }


# SQLite allows 999 bound values in one statement (older builds); batches stay well under.
_BATCH = 500


def keep(document_ids: Iterable[int] | None = None, *, using: str | None = None) -> None:
    """Recompute the kept rows of these documents (every document when None), in the caller's
    transaction. Idempotent; costs a few indexed statements per call."""
    using = using or router.db_for_write(Visibility)
    connection = connections[using]
    bump_generation()
    insert, restrict, names = _statements(connection)
    values = _values(connection)
    params = [values[name] for name in names]
    with connection.cursor() as cursor:
        if document_ids is None:
            Visibility.objects.using(using).all().delete()
            cursor.execute(insert, params)
            return
        ids = sorted({int(pk) for pk in document_ids})
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            Visibility.objects.using(using).filter(document_id__in=batch).delete()
            cursor.execute(insert + restrict.format(ids=", ".join(["%s"] * len(batch))), [*params, *batch])


def rebuild(*, using: str | None = None) -> int:
    """Recompute every row (`manage.py policy rebuild`); returns how many there are."""
    keep(None, using=using)
    return Visibility.objects.using(using or router.db_for_write(Visibility)).count()


def keep_released_to(organisation_ids: Iterable[int]) -> None:
    """Recompute the rows of every document released to these organisations (their country
    decides releasability)."""
    keep(Release.objects.filter(recipient_id__in=list(organisation_ids)).values_list("document_id", flat=True))


def keep_under(agreement: SharingAgreement) -> None:
    """Recompute the rows of every document released under `agreement` (its status, dates,
    parties or ceiling changed)."""
    keep(Release.objects.filter(agreement=agreement).values_list("document_id", flat=True))


# -- the same rules in Python, for the property tests and `policy rebuild --check` --------------


@dataclass(frozen=True, order=True)
class Row:
    document: int
    organisation: int
    release: int
    revision: int
    valid_from: datetime
    valid_until: datetime
    narrowed: bool


def kept_rows(document_ids: Iterable[int] | None = None) -> set[Row]:
    rows = Visibility.objects.all()
    if document_ids is not None:
        rows = rows.filter(document_id__in=list(document_ids))
    return {
        Row(*values)
        for values in rows.values_list(
            "document_id",
            "organisation_id",
            "release_id",
            "revision_id",
            "valid_from",
            "valid_until",
            "narrowed",
        )
    }


def rows_by_rules(document_ids: Iterable[int] | None = None) -> set[Row]:
    """The rows the rules call for, decided one release at a time by `scope.py`'s checks."""
    releases = Release.objects.filter(Q(status=Release.Status.APPROVED), revoked_at__isnull=True)
    if document_ids is not None:
        releases = releases.filter(document_id__in=list(document_ids))
    releases = releases.select_related(
        "document__originator", "document__tier", "agreement__tier_ceiling", "recipient", "revision__document"
    )
    rows = set()
    for release in releases:
        document, agreement = release.document, release.agreement
        if release.revision is None or document.status != Document.Status.PUBLISHED:
            continue
        if agreement.status != SharingAgreement.Status.ACTIVE:
            continue
        parties = scope.party_ids(agreement)
        if release.recipient_id not in parties or scope.scope_refusal(agreement, document, parties):
            continue
        if scope.releasability_refusal(document, release.recipient) or scope.releasability_refusal(
            release.revision, release.recipient
        ):
            continue
        until = agreement.expires_at
        if release.expires_at is not None and release.expires_at < until:
            until = release.expires_at
        rows.add(
            Row(
                document.pk,
                release.recipient_id,
                release.pk,
                release.revision_id,
                agreement.effective_from,
                until,
                release.audience.exists(),
            )
        )
    return rows
