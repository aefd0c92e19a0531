"""Partner read-ins by nomination: two parties, both audited.

- a partner admin nominates a member of their own organisation (never themselves) for a
  compartment their organisation can see and another organisation owns;
- an admin of the owner approves — the read-in is made then, granted by the approver, under the
  rules of `readin_grant` (read in themselves) — or declines, with a reason;
- a compartment the nominating organisation cannot see answers like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from .. import compartments as compartment_rules
from ..models import Compartment, ReadIn, ReadInNomination, User
from ._rules import authorise_compartment_owner, authorise_member_admin


def readin_nominate(
    *, actor: User, user: User, compartment: Compartment, expires_at: datetime | None = None
) -> ReadInNomination:
    """Ask the owner of `compartment` to read `user` (a member of the actor's organisation) in."""
    action = Action.READIN_NOMINATED
    authorise_member_admin(action, actor=actor, member=user)
    if not compartment_rules.nominable_by(actor.organisation).filter(pk=compartment.pk).exists():
        if compartment.owner_id == actor.organisation_id:
            refuse(actor, action, user, Reason.OWN_COMPARTMENT, field="compartment")
        refuse(
            actor,
            action,
            ("compartment", compartment.code, ""),
            Reason.NO_SUCH_COMPARTMENT,
            error=Http404("No such compartment."),
            details={"gate": "compartment"},
        )
    now = timezone.now()
    if ReadIn.objects.valid_at(now).filter(user=user, compartment=compartment).exists():
        refuse(actor, action, user, Reason.ALREADY_READ_IN, field="compartment")
    pending = ReadInNomination.Status.PENDING
    if ReadInNomination.objects.filter(user=user, compartment=compartment, status=pending).exists():
        refuse(actor, action, user, Reason.ALREADY_NOMINATED, field="compartment")
    if expires_at is not None and expires_at <= now:
        refuse(actor, action, user, Reason.PAST, field="expires_at")
    with transaction.atomic():
        nomination = ReadInNomination.objects.create(
            user=user, compartment=compartment, expires_at=expires_at, nominated_by=actor, nominated_at=now
        )
        details = {"compartment": compartment.code, "nominee": str(user.code), "owner": compartment.owner.short_name}
        record(action, actor=actor, target=nomination, details=details)
    return nomination


def _decidable(action: str, *, actor: User, nomination: ReadInNomination) -> None:
    authorise_compartment_owner(action, actor=actor, compartment=nomination.compartment, target=nomination)
    if nomination.status != ReadInNomination.Status.PENDING:
        refuse(actor, action, nomination, Reason.NOMINATION_NOT_PENDING)


def readin_nomination_approve(*, actor: User, nomination: ReadInNomination) -> ReadIn:
    """The owner's admin approves: the nominee is read in now, granted by the approver."""
    action = Action.READIN_NOMINATION_APPROVED
    _decidable(action, actor=actor, nomination=nomination)
    now = timezone.now()
    compartment, user = nomination.compartment, nomination.user
    if not ReadIn.objects.valid_at(now).filter(user=actor, compartment=compartment).exists():
        refuse(actor, action, nomination, Reason.NOT_READ_IN_YOURSELF)
    if ReadIn.objects.valid_at(now).filter(user=user, compartment=compartment).exists():
        refuse(actor, action, nomination, Reason.ALREADY_READ_IN)
    expires_at = nomination.expires_at
    if expires_at is not None and expires_at <= now:
        refuse(actor, action, nomination, Reason.PAST)
    with transaction.atomic():
        locked = ReadInNomination.objects.select_for_update().get(pk=nomination.pk)
        if locked.status != ReadInNomination.Status.PENDING:
            transaction.set_rollback(True)
        else:
            readin = ReadIn.objects.create(
                user=user, compartment=compartment, granted_by=actor, granted_at=now, expires_at=expires_at
            )
            nomination.status, nomination.decided_by, nomination.decided_at = locked.Status.APPROVED, actor, now
            nomination.readin = readin
            nomination.save(update_fields=["status", "decided_by", "decided_at", "readin"])
            details = {"compartment": compartment.code, "nominee": str(user.code)}
            record(action, actor=actor, target=nomination, details=details)
            record(
                Action.READIN_GRANTED,
                actor=actor,
                target=readin,
                details={
                    **details,
                    "nomination": str(nomination.code),
                    "nominated_by": str(nomination.nominated_by.code),
                },
            )
            return readin
    refuse(actor, action, nomination, Reason.NOMINATION_NOT_PENDING)


def readin_nomination_decline(*, actor: User, nomination: ReadInNomination, reason: str = "") -> ReadInNomination:
    """The owner's admin declines: no read-in is made."""
    action = Action.READIN_NOMINATION_DECLINED
    _decidable(action, actor=actor, nomination=nomination)
    with transaction.atomic():
        updated = ReadInNomination.objects.filter(pk=nomination.pk, status=ReadInNomination.Status.PENDING).update(
            status=ReadInNomination.Status.DECLINED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_reason=(reason or "").strip()[:500],
        )
        if updated:
            nomination.refresh_from_db()
            details = {"compartment": nomination.compartment.code, "reason": nomination.decision_reason}
            record(action, actor=actor, target=nomination, details=details)
    if not updated:
        refuse(actor, action, nomination, Reason.NOMINATION_NOT_PENDING)
    return nomination
