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
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from accounts.affiliations import HostAffiliation, present_as_host_member
from accounts.models import Compartment
from accounts.services import readin_grant
from audit.reasons import Reason
from sharing.models import DocumentGroupObjectPermission, DocumentUserObjectPermission, Release
from sharing.policy import (
    Decision,
    can_approve_release,
    can_download,
    can_edit,
    can_read,
    can_request_release,
    readable_documents,
)
from tests.factories import (
    AgreementFactory,
    AttachmentFactory,
    DocumentFactory,
    OrganisationFactory,
    PersonFactory,
    ReleaseFactory,
    compartment,
    revise,
    tier,
)

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
    # The recipient organisation's country against releasable_to, the reader's nationality GBR
    # (set by the partner's admin) in the two other states: listed (REL TO USA) | unlisted
    # (GBR EYES ONLY) | foreign_national (REL TO USA)
    "recipient_country": "listed",
    "read_in": "read_in",  # read_in | none | expired | revoked | no_compartment
    "caveat": "none",  # none | orcon
    "status": "published",  # published | draft | withdrawn
    # clean | pending | destroyed | later (attached after the release: not in the released revision)
    "attachment": "clean",
    # The revision released to the partner (rev 1, marked JOINT-EX-1, REL TO USA) and what the
    # author did since: released (nothing) | newer_looser (rev 2 drops the compartment, not yet
    # approved) | newer_stricter (rev 2 is GBR EYES ONLY) | unpinned (an approved release naming
    # no revision, which grants nothing).
    "revision": "released",
    # Who owns JOINT-EX-1, the document's compartment: originator | recipient | third | unowned.
    # Reading needs a read-in whoever owns it; only the owner's admins grant one (grant_read_in).
    "compartment_owner": "originator",
    # Whom the reader acts for: self (their own organisation) | host (a secondee of CAISI acting
    # for the reader's organisation: the host's rules, its clearance grant SECRET capped by the
    # home's own, only the host's read-ins) | host_low_grant (the host grants OFFICIAL only) |
    # host_term (the agreement lets seconded staff read partner material).
    "acting_for": "self",
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
    # A partner admin's say-so about nationality never widens the marking: the organisation's country binds too.
    Cell("read", DENY, {"recipient_country": "unlisted"}),
    Cell("read", ALLOW, {"recipient_country": "foreign_national"}),
    Cell("read", DENY, {"relation": "partner_in_audience", "recipient_country": "unlisted"}),
    Cell("read", DENY, {"grant": "by_name", "recipient_country": "unlisted"}),
    *[Cell("read", DENY, {"read_in": state}) for state in ("none", "expired", "revoked")],
    Cell("read", ALLOW, {"read_in": "no_compartment"}),
    Cell("read", ALLOW, {"caveat": "orcon"}),
    Cell("read", DENY, {"status": "draft"}),
    Cell("read", DENY, {"status": "withdrawn"}),
    # A partner is held to the released revision's marking until an update is approved, and to
    # the current one as well: a lowered marking waits, a raised one binds at once.
    Cell("read", ALLOW, {"revision": "newer_looser"}),
    Cell("read", DENY, {"revision": "newer_looser", "read_in": "none"}),
    Cell("read", DENY, {"revision": "newer_stricter"}),
    Cell("read", DENY, {"revision": "unpinned"}),
    # Ownership decides who reads people in, never what a read-in opens.
    Cell("read", ALLOW, {"compartment_owner": "recipient"}),
    Cell("read", ALLOW, {"compartment_owner": "third"}),
    Cell("read", ALLOW, {"compartment_owner": "unowned"}),
    Cell("read", DENY, {"compartment_owner": "recipient", "read_in": "none"}),
    Cell("read", DENY, {"compartment_owner": "third", "read_in": "none"}),
    # --- read: a secondee acting for the host reads the host's own material by the host's rules ---
    Cell("read", ALLOW, {**O, "acting_for": "host"}),
    Cell("read", DENY, {**O, "acting_for": "host_low_grant"}),
    Cell("read", DENY, {**O, "acting_for": "host", "clearance": "below"}),
    Cell("read", DENY, {**O, "acting_for": "host", "read_in": "none"}),
    # A read-in to a compartment the home owns opens nothing at the host.
    Cell("read", ALLOW, {**O, "compartment_owner": "third"}),
    Cell("read", DENY, {**O, "acting_for": "host", "compartment_owner": "third"}),
    # What the host received from a partner: only if the agreement lets seconded staff read it
    # (and the compartment is the host's: a read-in the originator granted opens nothing there).
    Cell("read", DENY, {"acting_for": "host", "compartment_owner": "recipient"}),
    Cell("read", ALLOW, {"acting_for": "host_term", "compartment_owner": "recipient"}),
    Cell("read", DENY, {"acting_for": "host_term"}),
    Cell("download", DENY, {"acting_for": "host", "compartment_owner": "recipient"}),
    Cell("download", ALLOW, {"acting_for": "host_term", "compartment_owner": "recipient"}),
    Cell("edit", ALLOW, {**O, "role": "author", "acting_for": "host"}),
    Cell("edit", DENY, {**O, "role": "reviewer", "acting_for": "host"}),
    # --- read: the originator's own people need no release or grant, but every marking gate ---
    Cell("read", ALLOW, O),
    Cell("read", ALLOW, {**O, "status": "draft"}),
    Cell("read", ALLOW, {**O, "status": "withdrawn"}),
    Cell("read", ALLOW, {**O, "agreement": "suspended"}),
    Cell("read", ALLOW, {**O, "release": "none"}),
    Cell("read", DENY, {**O, "clearance": "below"}),
    Cell("read", DENY, {**O, "nationality": "not_releasable"}),
    Cell("read", ALLOW, {**O, "recipient_country": "unlisted"}),
    Cell("read", DENY, {**O, "read_in": "none"}),
    Cell("read", DENY, {**O, "account": "inactive"}),
    Cell("read", ALLOW, {**O, "revision": "newer_looser", "read_in": "none"}),
    Cell("read", ALLOW, {**O, "revision": "newer_stricter"}),
    Cell("download", DENY, {"revision": "newer_looser", "read_in": "none"}),
    Cell("download", ALLOW, {**O, "revision": "newer_looser", "read_in": "none"}),
    # --- download: read + a clean, intact file ---
    Cell("download", ALLOW),
    Cell("download", DENY, {"attachment": "pending"}),
    Cell("download", DENY, {"attachment": "destroyed"}),
    Cell("download", DENY, {"attachment": "later"}),
    Cell("download", ALLOW, {**O, "attachment": "later"}),
    Cell("download", DENY, {"agreement": "suspended"}),
    Cell("download", DENY, {"clearance": "below"}),
    Cell("download", DENY, {"recipient_country": "unlisted"}),
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
    # --- read the reader in to JOINT-EX-1: an admin of the reader's organisation, only as its owner ---
    Cell("grant_read_in", ALLOW, {**O, "read_in": "none"}),
    Cell("grant_read_in", DENY, {"read_in": "none"}),
    Cell("grant_read_in", ALLOW, {"read_in": "none", "compartment_owner": "recipient"}),
    Cell("grant_read_in", DENY, {**O, "read_in": "none", "compartment_owner": "recipient"}),
    Cell("grant_read_in", DENY, {"read_in": "none", "compartment_owner": "recipient", "relation": "third"}),
    Cell("grant_read_in", DENY, {**O, "read_in": "none", "compartment_owner": "third"}),
    Cell("grant_read_in", DENY, {**O, "read_in": "none", "compartment_owner": "unowned"}),
    Cell("grant_read_in", DENY, {**O, "read_in": "read_in"}),
]


def build(factors: dict):
    """The world of one cell: returns (reader, document, attachment, pending release, agreement)."""
    f = {**BASELINE, **factors}
    now, second = timezone.now(), timedelta(seconds=1)
    uk = OrganisationFactory(short_name="ukasi", country="GBR")
    us = OrganisationFactory(short_name="usaisi", country="USA")
    ca = OrganisationFactory(short_name="caaisi", country="CAN")
    reader_org = {"originator": uk, "third": ca}.get(f["relation"], us)
    role = {"requester": "release_officer"}.get(f["role"], f["role"])
    nationality = "GBR" if f["recipient_country"] != "listed" else reader_org.country
    seconded = f["acting_for"] != "self"
    reader = PersonFactory(
        organisation=ca if seconded else reader_org,
        nationality="FRA" if f["nationality"] == "not_releasable" else nationality,
        is_active=f["account"] != "inactive",
        roles=[] if role == "reviewer" else [role],
        **_clearance(f["clearance"], now),
        **_read_in(f["read_in"], now),
    )
    if f["account"] == "org_inactive":
        reader_org.is_active = False
        reader_org.save(update_fields=["is_active"])

    doc = DocumentFactory(
        originator=uk,
        tier="secret" if f["scope"] == "tier_above_ceiling" else "official-sensitive",
        status=f["status"],
        releasable_to=[] if f["recipient_country"] == "unlisted" else ["USA"],
        compartments=() if f["read_in"] == "no_compartment" else ("joint-ex-1",),
        caveats=("orcon",) if f["caveat"] == "orcon" else (),
        risk_domains=("cbrn",) if f["scope"] == "topic_outside" else ("cyber-offence",),
    )
    state = f["agreement"]
    ag = AgreementFactory(
        parties={"originator_not_party": [us, ca], "recipient_not_party": [uk, ca]}.get(state, [uk, us]),
        status={
            "draft": "draft",
            "suspended": "suspended",
            "terminated": "terminated",
            "expired_status": "expired",
        }.get(state, "active"),
        onward_sharing=f["onward"],
        seconded_staff_read_partner_material=f["acting_for"] == "host_term",
        **{
            "not_yet_effective": {"effective_from": now + timedelta(hours=1)},
            "past_expiry": {"expires_at": now - second},
        }.get(state, {}),
    )
    audience = {
        "partner_in_audience": [reader],
        "partner_outside_audience": [PersonFactory(organisation=us)],
    }.get(f["relation"], [])
    # A file attached before the release is in the released revision; one attached after it
    # ("later") writes a revision of its own that no release officer has passed on.
    attachment = None
    if f["attachment"] != "later":
        attachment = _attach(doc, f)
    if f["release"] != "none":
        ReleaseFactory(
            document=doc,
            agreement=ag,
            recipient=us,
            status={"past_expiry": "approved"}.get(f["release"], f["release"]),
            expires_at=now - second if f["release"] == "past_expiry" else None,
            audience=audience,
        )
    if f["revision"] == "unpinned":
        Release.objects.filter(document=doc).update(revision=None)
    elif f["revision"] == "newer_looser":
        revise(doc, compartments=[])
    elif f["revision"] == "newer_stricter":
        revise(doc, releasable_to=[])
    requester = reader if f["role"] == "requester" else doc.author
    pending = ReleaseFactory(
        document=doc, agreement=ag, recipient=ca, requested_by=requester, status="requested", grant=False
    )

    view = Permission.objects.get(codename="view_document", content_type__app_label="sharing")
    if f["grant"] == "missing":
        DocumentGroupObjectPermission.objects.filter(content_object=doc).delete()
    elif f["grant"] == "stale_group":
        DocumentGroupObjectPermission.objects.get_or_create(group=us.group, permission=view, content_object=doc)
    elif f["grant"] == "by_name":
        DocumentGroupObjectPermission.objects.filter(content_object=doc).delete()
        DocumentUserObjectPermission.objects.create(user=reader, permission=view, content_object=doc)

    attachment = attachment or _attach(doc, f)
    owner = {"originator": uk, "recipient": us, "third": ca}.get(f["compartment_owner"])
    Compartment.objects.filter(code="joint-ex-1").update(owner=owner)
    if seconded:
        present_as_host_member(
            reader,
            HostAffiliation(
                secondment_code="matrix", home=ca, host=reader_org, role="analyst" if role == "author" else "reviewer",
                clearance=tier("official" if f["acting_for"] == "host_low_grant" else "secret"),
                ends_at=now + timedelta(days=30),
            ),
        )  # fmt: skip
    return reader, doc, attachment, pending, ag


def _attach(doc, f: dict):
    return AttachmentFactory(document=doc, scan=f["attachment"] != "pending", destroyed=f["attachment"] == "destroyed")


def _clearance(state: str, now) -> dict:
    """The reader's clearance as PersonFactory options: none, or a grant at a tier and in a state."""
    if state == "none":
        return {}
    tier = {"above": "secret", "below": "official"}.get(state, "official-sensitive")
    dates = {
        "expired": {
            "clearance__valid_from": now - timedelta(days=10),
            "clearance__valid_until": now - timedelta(seconds=1),
        },
        "revoked": {"clearance__revoked_at": now},
        "future": {"clearance__valid_from": now + timedelta(hours=1)},
    }
    return {"clearance": tier, **dates.get(state, {})}


def _read_in(state: str, now) -> dict:
    """The reader's read-in to JOINT-EX-1 as PersonFactory options."""
    if state not in ("read_in", "expired", "revoked"):
        return {}
    ended = {"expired": {"read_ins__expires_at": now - timedelta(seconds=1)}, "revoked": {"read_ins__revoked_at": now}}
    return {"read_ins": ["joint-ex-1"], **ended.get(state, {})}


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
    if action == "grant_read_in":
        return _grant_read_in(reader)
    raise AssertionError(action)


def _grant_read_in(reader) -> Decision:
    """An admin of the reader's organisation, read in to JOINT-EX-1, reads the reader in."""
    admin = PersonFactory(
        organisation=reader.organisation, roles=["org_admin"], clearance="secret", read_ins=["joint-ex-1"]
    )
    try:
        readin_grant(actor=admin, user=reader, compartment=compartment("joint-ex-1"))
    except (PermissionDenied, ValidationError, Http404) as refused:
        return Decision(False, Reason.NO_SUCH_COMPARTMENT, {"refused": str(refused)})
    return Decision(True, Reason.ALLOWED)


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
