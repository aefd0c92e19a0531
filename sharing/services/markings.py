"""Two people for a lower marking: an author's downgrade waits for a release officer.

A lower tier, a compartment or a caveat (ORCON) dropped, or a country added to the
releasability lets more people read a document: like a release, it needs a second person of the
originator holding the release-officer role. What counts as lowering is `sharing.marking`'s one
rule (`marking_changes(...).lowers`, `raised_part`). The author's edit saves everything else at
once, raises included; the lowering waits as a `MarkingProposal` (audited) until a different
release officer approves it (a new revision) or refuses it with a reason.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import Compartment, Country, Tier, User
from accounts.roles import Role, has_role
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import record, refuse

from ..marking import Marking, is_downgrade, marking_changes, marking_from_snapshot, marking_of, raised_part
from ..models import Caveat, Document, MarkingProposal
from ..policy import can_read
from ..visibility import keep
from .revisions import write_revision

Status = MarkingProposal.Status


def _asked(document: Document, given: dict[str, Any]) -> Marking:
    """The marking an edit asks for: the given parts, the document's own for the rest."""
    current = marking_of(document)
    tier = given.get("tier", document.tier)
    return Marking(
        tier=tier,
        releasable_to=frozenset(c.pk for c in given["releasable_to"])
        if "releasable_to" in given
        else current.releasable_to,
        compartments=frozenset(c.code for c in given["compartments"])
        if "compartments" in given
        else current.compartments,
        caveats=frozenset(c.label for c in given["caveats"]) if "caveats" in given else current.caveats,
        originator_country=current.originator_country,
    )


def _values(marking: Marking) -> dict[str, Any]:
    return {
        "tier": marking.tier,
        "releasable_to": list(Country.objects.filter(code__in=marking.releasable_to)),
        "compartments": list(Compartment.objects.filter(code__in=marking.compartments)),
        "caveats": list(Caveat.objects.filter(label__in=marking.caveats)),
    }


def lower_marking_split(document: Document, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split an edit's marking into what takes effect now and what waits.

    Returns the edit's values with only the raises of the marking kept, and the marking asked
    for (as values) when it lowers anything, else None.
    """
    if not {"tier", "releasable_to", "compartments", "caveats"} & set(given):
        return given, None
    before, asked = marking_of(document), _asked(document, given)
    if not is_downgrade(before, asked):
        return given, None
    return {**given, **_values(raised_part(before, asked))}, _values(asked)


def propose_lower_marking(*, actor: User, document: Document, asked: dict[str, Any]) -> MarkingProposal:
    """Record the lower marking asked for, over the document's marking now; called inside the
    edit's transaction with the document locked. An earlier proposal still waiting gives way."""
    now = timezone.now()
    for older in MarkingProposal.objects.select_for_update().filter(document=document, status=Status.PENDING):
        older.status, older.decided_at = Status.SUPERSEDED, now
        older.save(update_fields=["status", "decided_at"])
    proposal = MarkingProposal(
        document=document,
        proposed_by=actor,
        proposed_at=now,
        base_marking=marking_of(document).as_snapshot(),
        tier=asked["tier"],
    )
    proposal.full_clean()
    proposal.save()
    proposal.releasable_to.set(asked["releasable_to"])
    proposal.compartments.set(asked["compartments"])
    proposal.caveats.set(asked["caveats"])
    record(
        Action.MARKING_LOWER_PROPOSED,
        actor=actor,
        target=document,
        organisation_id=document.originator_id,
        details={"proposal": str(proposal.code), "changes": _changes_text(proposal)},
    )
    return proposal


def proposed_marking(proposal: MarkingProposal) -> Marking:
    originator_country = proposal.document.originator.country_id
    return Marking(
        tier=proposal.tier,
        releasable_to=frozenset({*(c.pk for c in proposal.releasable_to.all()), originator_country}),
        compartments=frozenset(c.code for c in proposal.compartments.all()),
        caveats=frozenset(c.label for c in proposal.caveats.all()),
        originator_country=originator_country,
    )


def proposal_changes(proposal: MarkingProposal, country: str | None = None):
    """What the proposal changes, against the marking it was proposed over."""
    base = marking_from_snapshot({"marking": proposal.base_marking}, _tiers(proposal))
    return marking_changes(base, proposed_marking(proposal), country)


def _tiers(proposal: MarkingProposal) -> dict:
    return {tier.code: tier for tier in Tier.objects.all()}


def _changes_text(proposal: MarkingProposal) -> list[str]:
    return [f"{c.aspect}: {c.before} → {c.after}" for c in proposal_changes(proposal)]


def _check(actor: User, proposal: MarkingProposal, action: str) -> None:
    """A release officer of the originator, who reads the document, other than the proposer."""
    document = proposal.document
    org_id = document.originator_id
    if actor.organisation_id != org_id or not has_role(actor, Role.RELEASE_OFFICER, document.originator):
        refuse(actor, action, document, Reason.NOT_A_RELEASE_OFFICER, error=PermissionDenied, organisation_id=org_id)
    decision = can_read(actor, document)
    if not decision:
        refuse(actor, action, document, decision.refusal, error=PermissionDenied, organisation_id=org_id)
    if actor.pk == proposal.proposed_by_id:
        refuse(actor, action, document, Reason.PROPOSER_DECIDES, error=PermissionDenied, organisation_id=org_id)
    if proposal.status != Status.PENDING:
        refuse(
            actor,
            action,
            document,
            Reason.MARKING_CHANGE_NOT_PENDING.because(status=proposal.status),
            organisation_id=org_id,
        )


def marking_proposal_approve(*, actor: User, proposal: MarkingProposal, reason: str = "") -> MarkingProposal:
    """Apply the lower marking as a new revision (its author: the proposer), once a second
    person approves it, and only over the marking it was proposed over."""
    action = Action.MARKING_LOWER_APPROVED
    _check(actor, proposal, action)
    document = proposal.document
    org_id = document.originator_id
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = Document.objects.select_for_update().select_related("tier", "originator").get(pk=document.pk)
        current = MarkingProposal.objects.select_for_update().get(pk=proposal.pk)
        if current.status != Status.PENDING:
            refusal = Reason.MARKING_CHANGE_NOT_PENDING.because(status=current.status)
        elif locked.status == Document.Status.WITHDRAWN:
            refusal = Refusal(Reason.WITHDRAWN)
        elif marking_of(locked).as_snapshot() != current.base_marking:
            refusal = Refusal(Reason.MARKING_CHANGED_SINCE_PROPOSED)
        else:
            before = marking_of(locked)
            locked.tier = current.tier
            locked.revision += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=["tier", "revision", "updated_at"])
            locked.releasable_to.set({*current.releasable_to.all(), locked.originator.country})
            locked.compartments.set(current.compartments.all())
            locked.caveats.set(current.caveats.all())
            changed = [c.aspect.lower() for c in marking_changes(before, marking_of(locked))]
            fields = [{"tier": "tier", "releasability": "releasable_to"}.get(name, name) for name in changed]
            write_revision(locked, actor=current.proposed_by, changed=fields, note=f"lower marking approved by {actor}")
            # A lower marking can let a release through that the old one held back.
            keep([locked.pk])
            current.status, current.decided_by, current.decided_at = Status.APPROVED, actor, locked.updated_at
            current.decision_reason, current.revision = reason.strip(), locked.revision
            current.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "revision"])
            record(
                action,
                actor=actor,
                target=locked,
                organisation_id=org_id,
                details={
                    "proposal": str(current.code),
                    "proposed_by": current.proposed_by.display_name,
                    "revision": locked.revision,
                    "changes": _changes_text(current),
                    "reason": reason.strip(),
                },
            )
    if refusal:
        refuse(actor, action, document, refusal, organisation_id=org_id)
    proposal.refresh_from_db()
    return proposal


def marking_proposal_refuse(*, actor: User, proposal: MarkingProposal, reason: str) -> MarkingProposal:
    """Refuse the lower marking, with a reason: the document keeps its marking."""
    action = Action.MARKING_LOWER_REFUSED
    _check(actor, proposal, action)
    document = proposal.document
    if not reason.strip():
        refuse(actor, action, document, Reason.REFUSAL_REASON_REQUIRED, organisation_id=document.originator_id)
    with transaction.atomic():
        current = MarkingProposal.objects.select_for_update().get(pk=proposal.pk)
        if current.status != Status.PENDING:
            refusal = Reason.MARKING_CHANGE_NOT_PENDING.because(status=current.status)
        else:
            refusal = None
            current.status, current.decided_by, current.decided_at = Status.REFUSED, actor, timezone.now()
            current.decision_reason = reason.strip()
            current.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
            record(
                action,
                actor=actor,
                target=document,
                organisation_id=document.originator_id,
                details={"proposal": str(current.code), "reason": reason.strip()},
            )
    if refusal:
        refuse(actor, action, document, refusal, organisation_id=document.originator_id)
    proposal.refresh_from_db()
    return proposal
