"""The list face of the read policy as one prepared SQL condition on a document row.

`readable_documents` used to assemble the same rules from a dozen nested ORM subqueries on every
call; building and compiling them cost more than the database spent planning and running them.
Here the condition is written once, as plain SQL shared by SQLite and PostgreSQL, and the only
per-request work is binding the user's values. It is an expression over the document's own
columns, so Django relabels those when the queryset is used inside another query
(`document__in=readable_documents(user)`), and the result stays one query. Every table and
column it names, guardian's and the content types' included, is read from the models' `_meta`
when the text is first built, so a renamed field or table cannot leave a stale name behind.

The rules are those of the `policy` docstring and must agree with `can_read`: the property test
(tests/sharing/test_policy_property.py) checks both faces against each other on generated worlds
on both engines, and the matrix checks every gate.

What depends only on the organisation and the document — a live approved release pinning a
revision, under an active agreement to which both are parties, covering the document's tier and
topics, to an organisation whose country the marking allows — is not decided here: it is kept
(`sharing/visibility.py`, `Visibility`), as one row per release with its validity range, which
this condition compares to now. The per-person gates and the guardian grant stay here, checked
against the kept row's revision.

Shape choices, measured on 100,000 documents (docs/BENCHMARKS.md): what depends only on the
user is an uncorrelated subquery the database evaluates once (clearance rank, read-ins, the
organisation's group and the permission id, the organisations of the user's country, and the
ids granted to the organisation or the user: an index-only range of the guardian table's
unique key, hashed once). What depends on the document (covering release, releasable_to,
compartments) is a correlated lookup on a unique index, made only for the rows the database
reads, so a first page costs the same at any table size. For a partner, releasable_to is
checked for the reader's nationality here and for the recipient organisation's country in the
kept row (a partner admin's say-so about nationality never widens the marking).
releasable_to sits inside an OR, where
PostgreSQL may turn an EXISTS into a hash of every row for the nationality (15,000 at 100,000
documents) built before the first row comes back; as `(SELECT COUNT(*) ...) > 0` it stays a
per-row lookup. The clearance test compares ranks as scalars: as `tier_id IN (...)` it became
a join the planner drove the whole scan from. The compartment test stays NOT EXISTS: as an
anti-join it keeps the row estimates that let the planner walk the `created_at` index instead
of sorting every readable row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import BooleanField, Expression, F

from accounts.models import ClearanceGrant, Compartment, Organisation, ReadIn, Tier

from .models import (
    Document,
    DocumentGroupObjectPermission,
    DocumentRevision,
    DocumentUserObjectPermission,
    Release,
    SharingAgreement,
    Visibility,
)

# A clearance rank above any tier's (ranks are small positive integers): no cap.
_NO_CAP = 32767
# An instant after any request: a clearance that no secondment bounds.
_NO_END = datetime(9999, 12, 31, tzinfo=UTC)

# {Model}: the model's table; {Model.field}: the field's column; {Model.m2m}: the field's through
# table, whose columns are named after its two models ({Document.compartments.document}). Every
# name comes from Model._meta, quoted for the engine (see _template).
# {doc_id}, {doc_originator}, {doc_tier}, {doc_status}: the document row's columns, compiled by Django.
# :name: a value bound per request (see _values).
_CONDITION = """
EXISTS (SELECT 1 FROM {Organisation} ao
        WHERE ao.{Organisation.id} = :org AND ao.{Organisation.is_active} = :true)
AND (SELECT t.{Tier.rank} FROM {Tier} t WHERE t.{Tier.id} = {doc_tier}) <= (:clearance)
AND ({doc_originator} IN (:compatriot_organisations)
     OR (SELECT COUNT(*) FROM {Document.releasable_to} rt
         WHERE rt.{Document.releasable_to.document} = {doc_id}
           AND rt.{Document.releasable_to.country} = :nationality) > 0)
AND NOT EXISTS (
    SELECT 1 FROM {Document.compartments} dc
    WHERE dc.{Document.compartments.document} = {doc_id} AND dc.{Document.compartments.compartment} NOT IN (:read_ins))
AND ({doc_originator} = :org OR (
    {doc_status} = :published
    AND EXISTS (
        SELECT 1 FROM {Visibility} k
        WHERE k.{Visibility.document} = {doc_id} AND k.{Visibility.organisation} = :org
          AND k.{Visibility.valid_from} <= :now AND k.{Visibility.valid_until} > :now
          AND (EXISTS (SELECT 1 FROM {DocumentGroupObjectPermission} gp
                       WHERE gp.{DocumentGroupObjectPermission.content_object} = {doc_id}
                         AND gp.{DocumentGroupObjectPermission.permission} = (:perm)
                         AND gp.{DocumentGroupObjectPermission.group} = (SELECT og.{Organisation.group}
                             FROM {Organisation} og WHERE og.{Organisation.id} = :org))
               OR {doc_id} IN (SELECT up.{DocumentUserObjectPermission.content_object}
                               FROM {DocumentUserObjectPermission} up
                               WHERE up.{DocumentUserObjectPermission.permission} = (:perm)
                                 AND up.{DocumentUserObjectPermission.user} = :user))
          AND (:seconded = :false
               OR (SELECT sa.{SharingAgreement.seconded_staff_read_partner_material}
                   FROM {Release} sr JOIN {SharingAgreement} sa ON sa.{SharingAgreement.id} = sr.{Release.agreement}
                   WHERE sr.{Release.id} = k.{Visibility.release}) = :true)
          AND (k.{Visibility.narrowed} = :false
               OR (SELECT COUNT(*) FROM {Release.audience} ru
                   WHERE ru.{Release.audience.release} = k.{Visibility.release} AND ru.{Release.audience.user} = :user) > 0)
          AND (SELECT rvt.{Tier.rank} FROM {DocumentRevision} rv JOIN {Tier} rvt ON rvt.{Tier.id} = rv.{DocumentRevision.tier}
               WHERE rv.{DocumentRevision.id} = k.{Visibility.revision}) <= (:clearance)
          AND ({doc_originator} IN (:compatriot_organisations)
               OR (SELECT COUNT(*) FROM {DocumentRevision.releasable_to} rvr
                   WHERE rvr.{DocumentRevision.releasable_to.documentrevision} = k.{Visibility.revision}
                     AND rvr.{DocumentRevision.releasable_to.country} = :nationality) > 0)
          AND NOT EXISTS (
              SELECT 1 FROM {DocumentRevision.compartments} rvc
              WHERE rvc.{DocumentRevision.compartments.documentrevision} = k.{Visibility.revision}
                AND rvc.{DocumentRevision.compartments.compartment} NOT IN (:read_ins)))))
"""

# The user's clearance rank now (NULL without a grant; for a secondee acting for the host, capped
# at the host's secondment grant and NULL once the secondment ends: `accounts.affiliations`), the organisations of the user's country
# (always releasable: the originator's country is in every marking), and the compartments the
# user is read in to now; each stated once and used for the document's marking and for the
# marking of the revision released to a partner.
_CLEARANCE = """
SELECT CASE WHEN MAX(gt.{Tier.rank}) > :rank_cap THEN :rank_cap ELSE MAX(gt.{Tier.rank}) END FROM {ClearanceGrant} g JOIN {Tier} gt ON gt.{Tier.id} = g.{ClearanceGrant.tier}
WHERE g.{ClearanceGrant.user} = :user AND g.{ClearanceGrant.status} = :grant_active
  AND g.{ClearanceGrant.revoked_at} IS NULL
  AND g.{ClearanceGrant.valid_from} <= :now AND g.{ClearanceGrant.valid_until} > :now
  AND :secondee_until > :now
"""
_COMPATRIOT_ORGANISATIONS = """
SELECT oc.{Organisation.id} FROM {Organisation} oc WHERE oc.{Organisation.country} = :nationality
"""
_READ_INS = """
SELECT ri.{ReadIn.compartment} FROM {ReadIn} ri
WHERE ri.{ReadIn.user} = :user AND (ri.{ReadIn.expires_at} IS NULL OR ri.{ReadIn.expires_at} > :now)
  AND ri.{ReadIn.granted_at} <= :now AND ri.{ReadIn.revoked_at} IS NULL
  AND (:seconded = :false
       OR ri.{ReadIn.compartment} IN (SELECT sc.{Compartment.id} FROM {Compartment} sc WHERE sc.{Compartment.owner} = :org))
"""

# guardian's view permission on a document, found by its codename and content type.
_PERMISSION = """
SELECT p.{Permission.id} FROM {Permission} p JOIN {ContentType} ct ON ct.{ContentType.id} = p.{Permission.content_type}
WHERE p.{Permission.codename} = :codename AND ct.{ContentType.app_label} = :app_label AND ct.{ContentType.model} = :model
"""

_PARTS = {
    ":perm": _PERMISSION,
    ":clearance": _CLEARANCE,
    ":compatriot_organisations": _COMPATRIOT_ORGANISATIONS,
    ":read_ins": _READ_INS,
}

_MODELS = (
    Organisation,
    Tier,
    ClearanceGrant,
    ReadIn,
    Document,
    DocumentGroupObjectPermission,
    DocumentRevision,
    DocumentUserObjectPermission,
    Release,
    SharingAgreement,
    Compartment,
    Visibility,
    Permission,
    ContentType,
)

_COLUMNS = {"doc_id": "pk", "doc_originator": "originator_id", "doc_tier": "tier_id", "doc_status": "status"}


class _Names:
    """A model's names for the SQL text: formats as its table; an attribute is a field's column,
    or, for a many-to-many field, the names of its through model."""

    def __init__(self, model, quote):
        self._model, self._quote = model, quote

    def __format__(self, spec: str) -> str:
        return self._quote(self._model._meta.db_table)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        field = self._model._meta.get_field(name)
        if field.many_to_many:
            return _Names(field.remote_field.through, self._quote)
        return self._quote(field.column)


_templates: dict[str, tuple[str, tuple[str, ...]]] = {}


def _template(connection) -> tuple[str, tuple[str, ...]]:
    """The condition with `%s` placeholders, and the names of the values in their order.

    Built once per database engine (quoting is the engine's), so a request only binds values.
    """
    if connection.vendor not in _templates:
        names = {model.__name__: _Names(model, connection.ops.quote_name) for model in _MODELS}
        names.update({column: f"{{{column}}}" for column in _COLUMNS})  # the row's columns: filled in as_sql
        sql = _CONDITION
        for name, part in _PARTS.items():
            sql = sql.replace(name, part.strip())
        sql = " ".join(sql.format_map(names).split())
        _templates[connection.vendor] = re.sub(r":\w+", "%s", sql), tuple(re.findall(r":(\w+)", sql))
    return _templates[connection.vendor]


class ReadableBy(Expression):
    """True for a document row the user may read at `now` (every gate but the account's own)."""

    conditional = True
    output_field = BooleanField()

    def __init__(
        self,
        *,
        org_id: int,
        user_id: int,
        nationality: str | None,
        now: datetime,
        secondee_until: datetime | None = None,
        rank_cap: int | None = None,
        columns=None,
    ):
        super().__init__(output_field=BooleanField())
        self.org_id, self.user_id, self.nationality, self.now = org_id, user_id, nationality, now
        # A secondee acting for the host (`org_id`): until when, and the host's clearance grant.
        self.secondee_until, self.rank_cap = secondee_until, rank_cap
        self.columns = columns if columns is not None else [F(field) for field in _COLUMNS.values()]

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def _values(self, connection) -> dict:
        return {
            "org": self.org_id,
            "user": self.user_id,
            "nationality": self.nationality,
            "now": connection.ops.adapt_datetimefield_value(self.now),
            "seconded": self.secondee_until is not None,
            "secondee_until": connection.ops.adapt_datetimefield_value(self.secondee_until or _NO_END),
            "rank_cap": _NO_CAP if self.rank_cap is None else self.rank_cap,
            "true": True,
            "false": False,
            "published": Document.Status.PUBLISHED.value,
            "grant_active": ClearanceGrant.Status.ACTIVE.value,
            "codename": get_permission_codename("view", Document._meta),
            "app_label": Document._meta.app_label,
            "model": Document._meta.model_name,
        }

    def as_sql(self, compiler, connection):
        columns = {}
        column_params = []
        for name, expression in zip(_COLUMNS, self.columns, strict=True):
            sql, params = compiler.compile(expression)
            columns[name] = sql
            column_params.extend(params)
        if column_params:  # plain columns compile without parameters; anything else is a misuse
            raise ValueError("ReadableBy expects plain document columns")
        template, names = _template(connection)
        values = self._values(connection)
        return "(" + template.format(**columns) + ")", [values[name] for name in names]
