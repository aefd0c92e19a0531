"""The list face of the read policy as one prepared SQL condition on a document row.

`readable_documents` used to assemble the same rules from a dozen nested ORM subqueries on every
call; building and compiling them cost more than the database spent planning and running them.
Here the condition is written once, as plain SQL shared by SQLite and PostgreSQL, and the only
per-request work is binding the user's values. It is an expression over the document's own
columns, so Django relabels those when the queryset is used inside another query
(`document__in=readable_documents(user)`), and the result stays one query.

The rules are those of the `policy` docstring and must agree with `can_read`: the property test
(tests/sharing/test_policy_property.py) checks both faces against each other on generated worlds
on both engines, and the matrix checks every gate.

Shape choices, measured on 100,000 documents (docs/BENCHMARKS.md): what depends only on the
user is an uncorrelated subquery the database evaluates once (clearance rank, read-ins, the
organisation's group and the permission id, the organisations of the user's country, and the
ids granted to the organisation or the user: an index-only range of the guardian table's
unique key, hashed once). What depends on the document (covering release, releasable_to,
compartments) is a correlated lookup on a unique index, made only for the rows the database
reads, so a first page costs the same at any table size. releasable_to sits inside an OR, where
PostgreSQL may turn an EXISTS into a hash of every row for the nationality (15,000 at 100,000
documents) built before the first row comes back; as `(SELECT COUNT(*) ...) > 0` it stays a
per-row lookup. The clearance test compares ranks as scalars: as `tier_id IN (...)` it became
a join the planner drove the whole scan from. The compartment test stays NOT EXISTS: as an
anti-join it keeps the row estimates that let the planner walk the `created_at` index instead
of sorting every readable row. Inside the release check the agreement's own rules are one
uncorrelated set (in force now, the recipient a party) and the rest scalar lookups, which
halves the planning time of a join of six relations.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime

from django.db.models import BooleanField, Expression, F

from accounts.models import ClearanceGrant

from .models import Document, Release, SharingAgreement

# {id}, {originator}, {tier}, {status}: the document row's columns, compiled by Django.
# :name: a value bound per request (see _values).
_CONDITION = """
EXISTS (SELECT 1 FROM accounts_organisation ao WHERE ao.id = :org AND ao.is_active = :true)
AND (SELECT t.rank FROM accounts_tier t WHERE t.id = {tier}) <= (
    SELECT MAX(gt.rank) FROM accounts_clearancegrant g JOIN accounts_tier gt ON gt.id = g.tier_id
    WHERE g.user_id = :user AND g.status = :grant_active AND g.revoked_at IS NULL
      AND g.valid_from <= :now AND g.valid_until > :now)
AND ({originator} IN (SELECT oc.id FROM accounts_organisation oc WHERE oc.country_id = :nationality)
     OR (SELECT COUNT(*) FROM sharing_document_releasable_to rt
         WHERE rt.document_id = {id} AND rt.country_id = :nationality) > 0)
AND NOT EXISTS (
    SELECT 1 FROM sharing_document_compartments dc
    WHERE dc.document_id = {id} AND dc.compartment_id NOT IN (
        SELECT ri.compartment_id FROM accounts_readin ri
        WHERE ri.user_id = :user AND (ri.expires_at IS NULL OR ri.expires_at > :now)
          AND ri.granted_at <= :now AND ri.revoked_at IS NULL))
AND ({originator} = :org OR (
    {status} = :published
    AND ({id} IN (SELECT gp.content_object_id FROM sharing_documentgroupobjectpermission gp
                 WHERE gp.permission_id = (:perm)
                   AND gp.group_id = (SELECT og.group_id FROM accounts_organisation og WHERE og.id = :org))
         OR {id} IN (SELECT up.content_object_id FROM sharing_documentuserobjectpermission up
                     WHERE up.permission_id = (:perm) AND up.user_id = :user))
    AND EXISTS (
        SELECT 1 FROM sharing_release r
        WHERE r.document_id = {id} AND r.recipient_id = :org AND r.status = :approved
          AND r.revoked_at IS NULL AND (r.expires_at IS NULL OR r.expires_at > :now)
          AND r.agreement_id IN (
              SELECT a.id FROM sharing_sharingagreement a JOIN sharing_agreementparty pr ON pr.agreement_id = a.id
              WHERE pr.organisation_id = :org AND a.status = :agreement_active
                AND a.effective_from <= :now AND a.expires_at > :now)
          AND (SELECT COUNT(*) FROM sharing_agreementparty po
               WHERE po.agreement_id = r.agreement_id AND po.organisation_id = {originator}) > 0
          AND (SELECT ceiling.rank FROM sharing_sharingagreement ca JOIN accounts_tier ceiling ON ceiling.id = ca.tier_ceiling_id
               WHERE ca.id = r.agreement_id) >= (SELECT dt.rank FROM accounts_tier dt WHERE dt.id = {tier})
          AND (SELECT COUNT(*) FROM sharing_document_risk_domains drd
               WHERE drd.document_id = {id} AND drd.riskdomain_id NOT IN (
                  SELECT ard.riskdomain_id FROM sharing_sharingagreement_risk_domains ard
                  WHERE ard.sharingagreement_id = r.agreement_id)) = 0
          AND ((SELECT COUNT(*) FROM sharing_release_audience ra WHERE ra.release_id = r.id) = 0
               OR (SELECT COUNT(*) FROM sharing_release_audience ru
                   WHERE ru.release_id = r.id AND ru.user_id = :user) > 0))))
"""

_PERMISSION = (
    "SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id"
    " WHERE p.codename = 'view_document' AND ct.app_label = 'sharing' AND ct.model = 'document'"
)

_COLUMNS = {"id": "pk", "originator": "originator_id", "tier": "tier_id", "status": "status"}


@functools.cache
def _template() -> tuple[str, tuple[str, ...]]:
    """The condition with `%s` placeholders, and the names of the values in their order (built once)."""
    sql = " ".join(_CONDITION.replace(":perm", _PERMISSION).split())
    names = tuple(re.findall(r":(\w+)", sql))
    return re.sub(r":\w+", "%s", sql), names


class ReadableBy(Expression):
    """True for a document row the user may read at `now` (every gate but the account's own)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, *, org_id: int, user_id: int, nationality: str | None, now: datetime, columns=None):
        super().__init__(output_field=BooleanField())
        self.org_id, self.user_id, self.nationality, self.now = org_id, user_id, nationality, now
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
            "true": True,
            "published": Document.Status.PUBLISHED.value,
            "approved": Release.Status.APPROVED.value,
            "agreement_active": SharingAgreement.Status.ACTIVE.value,
            "grant_active": ClearanceGrant.Status.ACTIVE.value,
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
        template, names = _template()
        values = self._values(connection)
        return "(" + template.format(**columns) + ")", [values[name] for name in names]
