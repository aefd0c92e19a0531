"""Clearance grants and compartment read-ins.

Rules (tested in tests/accounts/test_services_clearances.py):
- an organisation admin acts only on members of their own organisation, never on themselves;
- nobody grants, renews or approves above their own clearance as of now;
- a grant at a `two_person` tier stays pending until a second admin of the organisation (not
  the one who made it) approves it;
- a read-in is given only by an admin of the organisation that owns the compartment
  (`accounts/compartments.py`), who is read in to that compartment themselves; a partner's
  people are read in on its admin's nomination, approved by an owner's admin.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from ..models import ClearanceGrant, Compartment, ReadIn, Tier, User
from ._rules import authorise_compartment_owner, authorise_member_admin, check_ceiling, clean_or_refuse


def _new_grant(
    action: str,
    *,
    actor: User | None,
    user: User,
    tier: Tier,
    valid_from: datetime | None,
    valid_until: datetime,
    reason: str,
    renews: ClearanceGrant | None = None,
) -> ClearanceGrant:
    authorise_member_admin(action, actor=actor, member=user)
    if not user.is_active:
        refuse(actor, action, user, Reason.INACTIVE)
    check_ceiling(action, actor=actor, member=user, tier=tier)
    now = timezone.now()
    if valid_until <= now:
        refuse(actor, action, user, Reason.PAST, field="valid_until")
    # The system (seed and bootstrap commands) has no second person to wait for.
    pending = tier.two_person and actor is not None
    grant = ClearanceGrant(
        user=user,
        tier=tier,
        valid_from=valid_from or now,
        valid_until=valid_until,
        reason=(reason or "").strip(),
        status=ClearanceGrant.Status.PENDING if pending else ClearanceGrant.Status.ACTIVE,
        granted_by=actor,
        granted_at=now,
        renews=renews,
    )
    clean_or_refuse(grant, action, actor=actor, target=user, exclude=["granted_by"])
    with transaction.atomic():
        grant.save(force_insert=True)
        details = {"tier": tier.code, "valid_until": valid_until.isoformat(), "status": grant.status}
        if renews is not None:
            details["renews"] = str(renews.code)
        record(Action.CLEARANCE_REQUESTED if pending else action, actor=actor, target=grant, details=details)
    return grant


def clearance_grant(
    *,
    actor: User | None,
    user: User,
    tier: Tier,
    valid_until: datetime,
    reason: str,
    valid_from: datetime | None = None,
) -> ClearanceGrant:
    """Clear `user` to `tier` until `valid_until`. Pending at a two-person tier."""
    return _new_grant(
        Action.CLEARANCE_GRANTED,
        actor=actor,
        user=user,
        tier=tier,
        valid_from=valid_from,
        valid_until=valid_until,
        reason=reason,
    )


def clearance_renew(*, actor: User | None, grant: ClearanceGrant, valid_until: datetime, reason: str) -> ClearanceGrant:
    """A new grant at the same tier from now until `valid_until`, replacing `grant`. The old grant
    keeps counting until it ends, so a renewal awaiting approval never leaves a gap."""
    action = Action.CLEARANCE_RENEWED
    authorise_member_admin(action, actor=actor, member=grant.user)
    if grant.status != ClearanceGrant.Status.ACTIVE or grant.revoked_at is not None:
        refuse(actor, action, grant, Reason.NOT_RENEWABLE)
    if valid_until <= grant.valid_until:
        refuse(actor, action, grant, Reason.NOT_LATER, field="valid_until")
    return _new_grant(
        action,
        actor=actor,
        user=grant.user,
        tier=grant.tier,
        valid_from=None,
        valid_until=valid_until,
        reason=reason,
        renews=grant,
    )


def _lock(obj) -> None:
    """Lock the row and reload it, so decisions are made on its current state, not on the
    caller's possibly stale copy (two admins clicking at once act once)."""
    type(obj).objects.select_for_update().filter(pk=obj.pk).exists()
    obj.refresh_from_db()


def _is_pending(grant: ClearanceGrant) -> bool:
    return grant.status == ClearanceGrant.Status.PENDING and grant.revoked_at is None


def clearance_approve(*, actor: User, grant: ClearanceGrant) -> ClearanceGrant:
    """The second admin's approval of a pending two-person grant."""
    action = Action.CLEARANCE_APPROVED
    if actor is None:
        refuse(None, action, grant, Reason.NO_PERSON)
    authorise_member_admin(action, actor=actor, member=grant.user)
    if grant.granted_by_id == actor.pk:
        refuse(actor, action, grant, Reason.OWN_GRANT)
    check_ceiling(action, actor=actor, member=grant.user, tier=grant.tier, field=None)
    problem = None
    with transaction.atomic():
        _lock(grant)
        if not _is_pending(grant):
            problem = Reason.NOT_PENDING
        elif grant.valid_until <= timezone.now():
            problem = Reason.GRANT_EXPIRED
        else:
            grant.status = ClearanceGrant.Status.ACTIVE
            grant.approved_by = actor
            grant.approved_at = timezone.now()
            grant.save(update_fields=["status", "approved_by", "approved_at"])
            record(action, actor=actor, target=grant, details={"tier": grant.tier.code})
    if problem:
        refuse(actor, action, grant, problem)
    return grant


def clearance_refuse(*, actor: User, grant: ClearanceGrant, reason: str = "") -> ClearanceGrant:
    """Turn down (or withdraw) a pending grant."""
    action = Action.CLEARANCE_REFUSED
    authorise_member_admin(action, actor=actor, member=grant.user)
    with transaction.atomic():
        _lock(grant)
        pending = _is_pending(grant)
        if pending:
            grant.status = ClearanceGrant.Status.REFUSED
            grant.save(update_fields=["status"])
            details = {"tier": grant.tier.code, "reason": (reason or "").strip()[:500]}
            record(action, actor=actor, target=grant, details=details)
    if not pending:
        refuse(actor, action, grant, Reason.NOT_PENDING)
    return grant


def clearance_revoke(*, actor: User | None, grant: ClearanceGrant, reason: str = "") -> ClearanceGrant:
    """End a grant now. It stops counting on the very next check."""
    action = Action.CLEARANCE_REVOKED
    authorise_member_admin(action, actor=actor, member=grant.user)
    with transaction.atomic():
        _lock(grant)
        live = grant.revoked_at is None and grant.status != ClearanceGrant.Status.REFUSED
        if live:
            grant.revoked_at = timezone.now()
            grant.revoked_by = actor
            grant.save(update_fields=["revoked_at", "revoked_by"])
            details = {"tier": grant.tier.code, "reason": (reason or "").strip()[:500]}
            record(action, actor=actor, target=grant, details=details)
    if not live:
        refuse(actor, action, grant, Reason.GRANT_ALREADY_REVOKED)
    return grant


def readin_grant(
    *, actor: User | None, user: User, compartment: Compartment, expires_at: datetime | None = None
) -> ReadIn:
    """Read `user` in to `compartment`, optionally until `expires_at`."""
    action = Action.READIN_GRANTED
    authorise_member_admin(action, actor=actor, member=user)
    authorise_compartment_owner(action, actor=actor, compartment=compartment, target=user)
    now = timezone.now()
    if actor is not None and not ReadIn.objects.valid_at(now).filter(user=actor, compartment=compartment).exists():
        refuse(actor, action, user, Reason.NOT_READ_IN_YOURSELF, field="compartment")
    if ReadIn.objects.valid_at(now).filter(user=user, compartment=compartment).exists():
        refuse(actor, action, user, Reason.ALREADY_READ_IN, field="compartment")
    if expires_at is not None and expires_at <= now:
        refuse(actor, action, user, Reason.PAST, field="expires_at")
    readin = ReadIn(user=user, compartment=compartment, granted_by=actor, granted_at=now, expires_at=expires_at)
    clean_or_refuse(readin, action, actor=actor, target=user, exclude=["granted_by"])
    with transaction.atomic():
        readin.save(force_insert=True)
        details = {"compartment": compartment.code, "expires_at": expires_at.isoformat() if expires_at else None}
        record(action, actor=actor, target=readin, details=details)
    return readin


def readin_revoke(*, actor: User | None, readin: ReadIn) -> ReadIn:
    """End a read-in now."""
    action = Action.READIN_REVOKED
    authorise_member_admin(action, actor=actor, member=readin.user)
    with transaction.atomic():
        _lock(readin)
        live = readin.revoked_at is None
        if live:
            readin.revoked_at = timezone.now()
            readin.revoked_by = actor
            readin.save(update_fields=["revoked_at", "revoked_by"])
            record(action, actor=actor, target=readin, details={"compartment": readin.compartment.code})
    if not live:
        refuse(actor, action, readin, Reason.READIN_ALREADY_REVOKED)
    return readin
