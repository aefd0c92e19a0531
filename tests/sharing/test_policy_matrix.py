"""The authorisation matrix: one declarative row per cell, generated into parametrised tests.

A world is built from a baseline (a US partner reviewer reading a UK finding released to the US
under a live UK-US agreement) with the row's factors changed. Every denied row differs from an
allowed row by one factor, so every row can fail: drop the rule it names and its test goes red.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import ClearanceGrant
from sharing.models import Attachment, DocumentGroupObjectPermission, DocumentUserObjectPermission, Release
from sharing.policy import (
    can_approve_release,
    can_download,
    can_edit,
    can_read,
    can_request_release,
    readable_documents,
)
from tests.factories import UserFactory, give_role, grant_clearance
from tests.sharing import world

BASELINE = {
    "relation": "partner",  # originator | partner | third | partner_in_audience | partner_outside_audience
    "role": "reviewer",  # reviewer | author | release_officer | requester (the officer asked for it)
    "account": "active",  # active | inactive | org_inactive
    "agreement": "active",  # + draft suspended terminated expired_status past_expiry not_yet_effective
    #   originator_not_party recipient_not_party
    "onward": False,
    "scope": "covered",  # covered | tier_above_ceiling | topic_outside
    "release": "approved",  # + requested refused revoked past_expiry none
    "grant": "synced",  # synced | missing | by_name | stale_group (a group row no release supports)
    "clearance": "equal",  # equal | above | below | none | expired | revoked | future
    "nationality": "releasable",  # releasable | not_releasable
    "read_in": "read_in",  # read_in | none | expired | revoked | no_compartment
    "caveat": "none",  # none | orcon
    "status": "published",  # published | draft | withdrawn
    "attachment": "clean",  # clean | pending | destroyed
}

ALLOW, DENY = True, False


@dataclass(frozen=True)
class Cell:
    action: str
    expected: bool
    factors: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        changed = "-".join(f"{k}={v}" for k, v in self.factors.items()) or "baseline"
        return f"{self.action}:{changed}:{'allow' if self.expected else 'deny'}"


O = {"relation": "originator"}  # noqa: E741 - the originator's side, used in many rows
MATRIX = [
    # --- read: the partner reviewer ---
    Cell("read", ALLOW),
    Cell("read", DENY, {"relation": "third"}),
    Cell("read", ALLOW, {"relation": "partner_in_audience"}),
    Cell("read", DENY, {"relation": "partner_outside_audience"}),
    # A group row left behind by an earlier whole-organisation release does not widen a narrowed one.
    Cell("read", ALLOW, {"grant": "stale_group"}),
    Cell("read", DENY, {"relation": "partner_outside_audience", "grant": "stale_group"}),
    Cell("read", DENY, {"account": "inactive"}),
    Cell("read", DENY, {"account": "org_inactive"}),
    *[
        Cell("read", DENY, {"agreement": state})
        for state in (
            "draft",
            "suspended",
            "terminated",
            "expired_status",
            "past_expiry",
            "not_yet_effective",
            "originator_not_party",
            "recipient_not_party",
        )
    ],
    Cell("read", DENY, {"scope": "tier_above_ceiling"}),
    Cell("read", DENY, {"scope": "topic_outside"}),
    *[Cell("read", DENY, {"release": state}) for state in ("requested", "refused", "revoked", "past_expiry", "none")],
    Cell("read", DENY, {"grant": "missing"}),
    Cell("read", ALLOW, {"grant": "by_name"}),
    Cell("read", ALLOW, {"clearance": "above"}),
    *[Cell("read", DENY, {"clearance": state}) for state in ("below", "none", "expired", "revoked", "future")],
    Cell("read", DENY, {"nationality": "not_releasable"}),
    *[Cell("read", DENY, {"read_in": state}) for state in ("none", "expired", "revoked")],
    Cell("read", ALLOW, {"read_in": "no_compartment"}),
    Cell("read", ALLOW, {"caveat": "orcon"}),
    Cell("read", DENY, {"status": "draft"}),
    Cell("read", DENY, {"status": "withdrawn"}),
    # --- read: the originator's own people need no release or grant, but every marking gate ---
    Cell("read", ALLOW, O),
    Cell("read", ALLOW, {**O, "status": "draft"}),
    Cell("read", ALLOW, {**O, "status": "withdrawn"}),
    Cell("read", ALLOW, {**O, "agreement": "suspended"}),
    Cell("read", ALLOW, {**O, "release": "none"}),
    Cell("read", DENY, {**O, "clearance": "below"}),
    Cell("read", DENY, {**O, "nationality": "not_releasable"}),
    Cell("read", DENY, {**O, "read_in": "none"}),
    Cell("read", DENY, {**O, "account": "inactive"}),
    # --- download: read + a clean, intact file ---
    Cell("download", ALLOW),
    Cell("download", DENY, {"attachment": "pending"}),
    Cell("download", DENY, {"attachment": "destroyed"}),
    Cell("download", DENY, {"agreement": "suspended"}),
    Cell("download", DENY, {"clearance": "below"}),
    Cell("download", ALLOW, O),
    Cell("download", DENY, {**O, "attachment": "pending"}),
    # --- edit: an author of the originator who can read it (what may change is the services' rule) ---
    Cell("edit", ALLOW, {**O, "role": "author"}),
    Cell("edit", DENY, {**O, "role": "reviewer"}),
    Cell("edit", DENY, {"role": "author"}),
    Cell("edit", ALLOW, {**O, "role": "author", "status": "draft"}),
    Cell("edit", DENY, {**O, "role": "author", "clearance": "below"}),
    # --- request a release: originator authors; recipients only with onward sharing, never ORCON ---
    Cell("request_release", ALLOW, {**O, "role": "author"}),
    Cell("request_release", DENY, {**O, "role": "reviewer"}),
    Cell("request_release", DENY, {**O, "role": "author", "status": "draft"}),
    Cell("request_release", ALLOW, {**O, "role": "author", "caveat": "orcon"}),
    Cell("request_release", DENY, {**O, "role": "author", "clearance": "below"}),
    Cell("request_release", DENY, {"role": "author"}),
    Cell("request_release", ALLOW, {"role": "author", "onward": True}),
    Cell("request_release", DENY, {"role": "author", "onward": True, "caveat": "orcon"}),
    Cell("request_release", DENY, {"role": "author", "onward": True, "agreement": "suspended"}),
    Cell("request_release", DENY, {"role": "reviewer", "onward": True}),
    # --- approve a release: the originator's release officer, never the requester ---
    Cell("approve_release", ALLOW, {**O, "role": "release_officer"}),
    Cell("approve_release", DENY, {**O, "role": "requester"}),
    Cell("approve_release", DENY, {**O, "role": "author"}),
    Cell("approve_release", DENY, {"role": "release_officer"}),
    Cell("approve_release", DENY, {**O, "role": "release_officer", "clearance": "below"}),
    Cell("approve_release", DENY, {**O, "role": "release_officer", "account": "inactive"}),
]


def build(factors: dict):
    """The world of one cell: returns (reader, document, attachment, pending release, agreement)."""
    f = {**BASELINE, **factors}
    now = timezone.now()
    uk, us, ca = world.org("ukasi", "GBR"), world.org("usaisi", "USA"), world.org("caaisi", "CAN")
    admin = UserFactory(organisation=None, is_staff=True)
    reader_org = {"originator": uk, "third": ca}.get(f["relation"], us)
    reader = UserFactory(organisation=reader_org, nationality=reader_org.country)
    if f["nationality"] == "not_releasable":
        reader.nationality_id = "FRA"
        reader.save(update_fields=["nationality"])
    role = {"requester": "release_officer"}.get(f["role"], f["role"])
    if role != "reviewer":
        give_role(reader, role)

    doc = world.document(
        originator=uk,
        tier="secret" if f["scope"] == "tier_above_ceiling" else "official-sensitive",
        status=f["status"],
        compartments=() if f["read_in"] == "no_compartment" else ("joint-ex-1",),
        caveats=("orcon",) if f["caveat"] == "orcon" else (),
        risk_domains=("cbrn",) if f["scope"] == "topic_outside" else ("cyber-offence",),
    )
    state = f["agreement"]
    parties = {"originator_not_party": [us, ca], "recipient_not_party": [uk, ca]}.get(state, [uk, us])
    ag = world.agreement(
        parties=parties,
        created_by=admin,
        status={
            "draft": "draft",
            "suspended": "suspended",
            "terminated": "terminated",
            "expired_status": "expired",
        }.get(state, "active"),
        effective_from=now + timedelta(hours=1) if state == "not_yet_effective" else None,
        expires_at=now - timedelta(seconds=1) if state == "past_expiry" else None,
        onward_sharing=f["onward"],
    )
    audience = {
        "partner_in_audience": [reader],
        "partner_outside_audience": [UserFactory(organisation=us)],
    }.get(f["relation"], [])
    if f["release"] != "none":
        world.release(
            doc=doc,
            ag=ag,
            recipient=us,
            requested_by=doc.author,
            status={"past_expiry": "approved"}.get(f["release"], f["release"]),
            expires_at=now - timedelta(seconds=1) if f["release"] == "past_expiry" else None,
            audience=audience,
        )
    view = Permission.objects.get(codename="view_document", content_type__app_label="sharing")
    if f["grant"] == "missing":
        DocumentGroupObjectPermission.objects.filter(content_object=doc).delete()
    elif f["grant"] == "stale_group":
        DocumentGroupObjectPermission.objects.get_or_create(group=us.group, permission=view, content_object=doc)
    elif f["grant"] == "by_name":
        DocumentGroupObjectPermission.objects.filter(content_object=doc).delete()
        DocumentUserObjectPermission.objects.create(user=reader, permission=view, content_object=doc)

    _clearance(reader, f["clearance"], now)
    if f["read_in"] in ("read_in", "expired", "revoked"):
        world.read_in(
            reader,
            "joint-ex-1",
            expires_at=now - timedelta(seconds=1) if f["read_in"] == "expired" else None,
            revoked=f["read_in"] == "revoked",
        )
    if f["account"] == "inactive":
        reader.is_active = False
        reader.save(update_fields=["is_active"])
    elif f["account"] == "org_inactive":
        reader_org.is_active = False
        reader_org.save(update_fields=["is_active"])

    attachment = Attachment.objects.create(
        document=doc,
        organisation=uk,
        filename="evidence.pdf",
        uploaded_by=doc.author,
        blob_name=f"blob-{doc.code}",
        segment_size=65536,
        scan_status="pending" if f["attachment"] == "pending" else "clean",
        destroyed_at=now if f["attachment"] == "destroyed" else None,
    )
    requester = reader if f["role"] == "requester" else doc.author
    pending = Release.objects.create(
        document=doc, agreement=ag, recipient=ca, justification="test", requested_by=requester
    )
    return reader, doc, attachment, pending, ag


def _clearance(reader, state: str, now) -> None:
    if state == "none":
        return
    tier = {"above": "secret", "below": "official"}.get(state, "official-sensitive")
    grant = grant_clearance(reader, tier)
    if state == "expired":
        ClearanceGrant.objects.filter(pk=grant.pk).update(
            valid_from=now - timedelta(days=10), valid_until=now - timedelta(seconds=1)
        )
    elif state == "revoked":
        ClearanceGrant.objects.filter(pk=grant.pk).update(revoked_at=now)
    elif state == "future":
        ClearanceGrant.objects.filter(pk=grant.pk).update(valid_from=now + timedelta(hours=1))


def decide(action: str, reader, doc, attachment, pending, ag):
    if action == "read":
        return can_read(reader, doc)
    if action == "download":
        return can_download(reader, attachment)
    if action == "edit":
        return can_edit(reader, doc)
    if action == "request_release":
        return can_request_release(reader, doc, ag)
    if action == "approve_release":
        return can_approve_release(reader, pending)
    raise AssertionError(action)


@pytest.mark.django_db
@pytest.mark.parametrize("cell", MATRIX, ids=lambda cell: cell.id)
def test_authorisation_matrix(cell: Cell):
    reader, doc, attachment, pending, ag = build(cell.factors)
    decision = decide(cell.action, reader, doc, attachment, pending, ag)
    assert decision.allowed is cell.expected, decision.reason
    if cell.action == "read":
        # The list face of the policy must agree with the single-document face in every cell.
        assert readable_documents(reader).filter(pk=doc.pk).exists() is cell.expected


def test_every_denied_cell_is_one_step_from_an_allowed_one():
    """The matrix's own invariant: a denial differs from some allowed cell of its action by one factor."""
    allowed = {cell.action: [] for cell in MATRIX}
    for cell in MATRIX:
        if cell.expected:
            allowed[cell.action].append({**BASELINE, **cell.factors})
    for cell in MATRIX:
        if cell.expected:
            continue
        world_of = {**BASELINE, **cell.factors}
        distances = [sum(world_of[k] != other[k] for k in BASELINE) for other in allowed[cell.action]]
        assert min(distances) == 1, cell.id
