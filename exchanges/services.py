"""Every write to a secondment: propose, approve (each side), end, extend, switch sides.

A secondment is active only once an admin of the home and an admin of the host have each
approved it; either side ends it early; a later end needs both sides again. Every step, and
every refusal, is an audit event on the secondment, which both sides' admins see
(`apps.py` registers the target). Refusals are raised after the transaction closes, so the
audited denial is never rolled back with the change it refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, Tier, User
from accounts.roles import Role, has_role
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import record, refuse
from sharing import scope
from sharing.models import SharingAgreement

from .models import Secondment

Status = Secondment.Status


# The steps that widen the secondee's access; their own admin rights never suffice for them.
SELF_BARRED = frozenset({Action.SECONDMENT_APPROVED, Action.SECONDMENT_EXTENSION_APPROVED})


def admin_sides(actor: Any, secondment: Secondment) -> list[str]:
    """The sides ("home", "host") whose organisation `actor` administers now."""
    return [
        side
        for side, organisation in (("home", secondment.home), ("host", secondment.host))
        if has_role(actor, Role.ORG_ADMIN, organisation)
    ]


def _require_admin(actor: Any, action: str, secondment: Secondment) -> list[str]:
    sides = admin_sides(actor, secondment)
    if sides and getattr(actor, "pk", None) == secondment.person_id and action in SELF_BARRED:
        # Nobody approves their own access: a secondee who is also an admin needs a colleague.
        refuse(actor, action, secondment, Reason.SELF, error=PermissionDenied)
    if not sides:
        refuse(actor, action, secondment, Reason.NOT_AN_ADMIN_OF_EITHER_SIDE, error=PermissionDenied)
    return sides


def _agreement_refusal(agreement: SharingAgreement, home: Organisation, host: Organisation, ends_at, now):
    refusal = scope.agreement_refusal(agreement, now)
    if refusal:
        return refusal
    if not agreement.personnel_exchanges:
        return Refusal(Reason.AGREEMENT_NO_EXCHANGES)
    if not {home.pk, host.pk} <= scope.party_ids(agreement):
        return Refusal(Reason.SECONDMENT_NOT_PARTIES)
    if ends_at > agreement.expires_at:
        return Refusal(Reason.SECONDMENT_AFTER_AGREEMENT)
    return None


def _overlaps(person: User, starts_at, ends_at, *, besides: Secondment | None = None) -> bool:
    rows = Secondment.objects.filter(person=person, starts_at__lt=ends_at, ends_at__gt=starts_at).exclude(
        status=Status.ENDED
    )
    if besides is not None:
        rows = rows.exclude(pk=besides.pk)
    return rows.exists()


def _details(secondment: Secondment) -> dict[str, Any]:
    return {
        "person": secondment.person.email,
        "home": secondment.home.short_name,
        "host": secondment.host.short_name,
        "starts_at": secondment.starts_at.isoformat(),
        "ends_at": secondment.ends_at.isoformat(),
        "role": secondment.role,
    }


def secondment_propose(
    *,
    actor: Any,
    person: User,
    home: Organisation,
    host: Organisation,
    agreement: SharingAgreement,
    starts_at: datetime,
    ends_at: datetime,
    role: str,
    clearance: Tier,
    purpose: str,
) -> Secondment:
    """Propose seconding `person` (a member of `home`) to `host` under `agreement`. By an admin
    of either side; active only once both sides approve (`secondment_approve`)."""
    action = Action.SECONDMENT_PROPOSED
    target = ("exchanges.secondment", "", f"secondment {home} → {host}")
    if not (has_role(actor, Role.ORG_ADMIN, home) or has_role(actor, Role.ORG_ADMIN, host)):
        refuse(actor, action, target, Reason.NOT_AN_ADMIN_OF_EITHER_SIDE, error=PermissionDenied)
    now = timezone.now()
    refusal: Refusal | None = None
    if home.pk == host.pk:
        refusal = Refusal(Reason.SECONDMENT_SAME_ORGANISATION)
    elif person.organisation_id != home.pk:
        refusal = Refusal(Reason.SECONDEE_NOT_OF_HOME)
    elif ends_at <= starts_at or ends_at <= now:
        refusal = Refusal(Reason.SECONDMENT_ENDS_BEFORE_START)
    else:
        refusal = _agreement_refusal(agreement, home, host, ends_at, now)
    if refusal is None and _overlaps(person, starts_at, ends_at):
        refusal = Refusal(Reason.SECONDMENT_OVERLAPS)
    if refusal:
        refuse(actor, action, target, refusal)
    secondment = Secondment(
        person=person,
        home=home,
        host=host,
        agreement=agreement,
        starts_at=starts_at,
        ends_at=ends_at,
        role=role,
        clearance=clearance,
        purpose=purpose.strip(),
        proposed_by=actor,
        proposed_at=now,
    )
    try:
        secondment.full_clean()
    except ValidationError as exc:
        refuse(actor, action, target, Reason.INVALID, error=exc, details={"errors": exc.messages})
    with transaction.atomic():
        secondment.save()
        record(action, actor=actor, target=secondment, details={**_details(secondment), "purpose": purpose[:200]})
    return secondment


def secondment_approve(*, actor: Any, secondment: Secondment) -> Secondment:
    """Approve for the side `actor` administers (the first still to approve, if both). Once
    both sides have approved, the secondment is active from its start."""
    action = Action.SECONDMENT_APPROVED
    sides = _require_admin(actor, action, secondment)
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = Secondment.objects.select_for_update().select_related("agreement").get(pk=secondment.pk)
        now = timezone.now()
        pending = [side for side in sides if getattr(locked, f"{side}_approved_at") is None]
        if locked.status != Status.PROPOSED:
            refusal = Refusal(Reason.SECONDMENT_NOT_PROPOSED)
        elif not pending:
            refusal = Reason.SIDE_ALREADY_APPROVED.because(organisation=str(getattr(locked, sides[0])))
        elif locked.ends_at <= now:
            refusal = Refusal(Reason.SECONDMENT_OVER)
        else:
            refusal = _agreement_refusal(locked.agreement, secondment.home, secondment.host, locked.ends_at, now)
        if refusal is None:
            side = pending[0]
            setattr(locked, f"{side}_approved_by", actor)
            setattr(locked, f"{side}_approved_at", now)
            fields = [f"{side}_approved_by", f"{side}_approved_at"]
            if locked.home_approved_at and locked.host_approved_at:
                locked.status = Status.APPROVED
                fields.append("status")
            locked.save(update_fields=fields)
            record(
                action, actor=actor, target=locked, details={"side": side, "active": locked.status == Status.APPROVED}
            )
    if refusal:
        refuse(actor, action, secondment, refusal)
    return locked


def secondment_end(*, actor: Any, secondment: Secondment) -> Secondment:
    """End it now, by an admin of either side: every host permission ends on the secondee's
    next request (`exchanges.middleware`). A proposal not yet approved is withdrawn the same way."""
    action = Action.SECONDMENT_ENDED
    _require_admin(actor, action, secondment)
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = Secondment.objects.select_for_update().get(pk=secondment.pk)
        now = timezone.now()
        if locked.status == Status.ENDED or locked.ends_at <= now:
            refusal = Refusal(Reason.SECONDMENT_OVER)
        else:
            locked.status, locked.ended_by, locked.ended_at = Status.ENDED, actor, now
            locked.save(update_fields=["status", "ended_by", "ended_at"])
            record(action, actor=actor, target=locked, details={"was_due": locked.ends_at.isoformat()})
    if refusal:
        refuse(actor, action, secondment, refusal)
    return locked


def secondment_extension_propose(*, actor: Any, secondment: Secondment, ends_at: datetime) -> Secondment:
    """Propose a later end; it takes effect only once both sides approve it."""
    action = Action.SECONDMENT_EXTENSION_PROPOSED
    _require_admin(actor, action, secondment)
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = Secondment.objects.select_for_update().select_related("agreement").get(pk=secondment.pk)
        now = timezone.now()
        if locked.status != Status.APPROVED or locked.ends_at <= now:
            refusal = Refusal(Reason.SECONDMENT_OVER)
        elif ends_at <= locked.ends_at:
            refusal = Refusal(Reason.EXTENSION_NOT_LATER)
        else:
            refusal = _agreement_refusal(locked.agreement, secondment.home, secondment.host, ends_at, now)
        if refusal is None:
            locked.extension_ends_at = ends_at
            locked.extension_home_approved_by = locked.extension_host_approved_by = None
            locked.save(update_fields=["extension_ends_at", "extension_home_approved_by", "extension_host_approved_by"])
            record(action, actor=actor, target=locked, details={"ends_at": ends_at.isoformat()})
    if refusal:
        refuse(actor, action, secondment, refusal)
    return locked


def secondment_extension_approve(*, actor: Any, secondment: Secondment) -> Secondment:
    """Approve the proposed later end for the side `actor` administers; with both, it holds."""
    action = Action.SECONDMENT_EXTENSION_APPROVED
    sides = _require_admin(actor, action, secondment)
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = Secondment.objects.select_for_update().select_related("agreement").get(pk=secondment.pk)
        now = timezone.now()
        pending = [side for side in sides if getattr(locked, f"extension_{side}_approved_by_id") is None]
        if locked.status != Status.APPROVED or locked.ends_at <= now:
            refusal = Refusal(Reason.SECONDMENT_OVER)
        elif locked.extension_ends_at is None:
            refusal = Refusal(Reason.NO_EXTENSION_PENDING)
        elif not pending:
            refusal = Reason.SIDE_ALREADY_APPROVED.because(organisation=str(getattr(locked, sides[0])))
        else:
            refusal = _agreement_refusal(
                locked.agreement, secondment.home, secondment.host, locked.extension_ends_at, now
            )
        if refusal is None:
            side = pending[0]
            setattr(locked, f"extension_{side}_approved_by", actor)
            fields = [f"extension_{side}_approved_by"]
            extended = bool(locked.extension_home_approved_by_id and locked.extension_host_approved_by_id)
            details = {"side": side, "ends_at": locked.extension_ends_at.isoformat(), "extended": extended}
            if extended:
                locked.ends_at = locked.extension_ends_at
                locked.extension_ends_at = None
                locked.extension_home_approved_by = locked.extension_host_approved_by = None
                fields = ["ends_at", "extension_ends_at", "extension_home_approved_by", "extension_host_approved_by"]
            locked.save(update_fields=fields)
            record(action, actor=actor, target=locked, details=details)
    if refusal:
        refuse(actor, action, secondment, refusal)
    return locked


def secondment_switch(*, actor: Any, secondment: Secondment, to: str) -> Secondment:
    """The secondee chooses to act for the host or for home ("host" / "home"); acting for the
    host needs the secondment active now. Audited on the secondment, so both sides see it."""
    action = Action.SECONDMENT_SWITCHED
    now = timezone.now()
    if to not in ("home", "host"):
        refuse(actor, action, secondment, Reason.INVALID, details={"to": str(to)[:20]})
    if secondment.person_id != actor.pk or (to == "host" and not secondment.is_active_at(now)):
        refuse(actor, action, secondment, Reason.NOT_ON_SECONDMENT, error=PermissionDenied)
    record(action, actor=actor, target=secondment, details={"to": to})
    return secondment


def secondment_fall_back(*, actor: Any, secondment_code: str) -> None:
    """A session that acted for a host whose secondment is no longer active returns to home."""
    found = Secondment.objects.filter(code=secondment_code).first()
    target = found or ("exchanges.secondment", str(secondment_code)[:64], "")
    record(Action.SECONDMENT_FELL_BACK, actor=actor, target=target, details={"to": "home"})
